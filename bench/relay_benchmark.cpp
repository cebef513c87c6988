// Throughput of the outbox relay into Kafka, and of the embedded log from
// publish to consume. Run by bench/relay.sh, which compares the first with
// Kafka's own producer benchmark against the same broker.
//
// Usage:
//   relay_benchmark relay --postgres URL --kafka BROKERS --topic T
//                   [--messages N] [--size BYTES] [--batch N]
//     Fills a fresh outbox (not timed), then times the relay publishing it
//     all and marking it sent. Prints relay_msgs_per_s=<n>.
//   relay_benchmark log --dir DIR [--messages N] [--size BYTES] [--batch N]
//     Publishes N messages to the embedded log in batches while a consumer
//     reads them. Prints embedded_log_msgs_per_s=<n>.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "bus/embedded_log.hpp"
#include "bus/kafka_bus.hpp"
#include "bus/outbox.hpp"
#include "db/migrations.hpp"
#include "db/postgres_database.hpp"

using namespace seatflow;
using Stopwatch = std::chrono::steady_clock;

namespace {

int die(const std::string& what) {
  std::fprintf(stderr, "relay_benchmark: %s\n", what.c_str());
  return 1;
}

double seconds_since(Stopwatch::time_point start) {
  return std::chrono::duration<double>(Stopwatch::now() - start).count();
}

int bench_relay(std::map<std::string, std::string>& args, int messages, size_t size, int batch) {
  const std::string schema = "relay_bench";
  auto db = db::open_postgres({.conninfo = args["--postgres"], .schema = schema, .pool_size = 4});
  if (!db) return die(db.error().to_string());
  auto dropped = (*db)->transact([&](db::Session& s) {
    return s.execute_script(
        "DROP TABLE IF EXISTS outbox, outbox_lanes, inbox, inbox_failures, dead_letters, "
        "schema_history");
  });
  if (!dropped) return die(dropped.error().to_string());
  auto migrations =
      db::select_migrations(bus::standalone_messaging_migration_files(), db::Dialect::kPostgres);
  db::Migrator migrator(**db, "bench", std::move(*migrations), SystemClock::instance());
  if (auto done = migrator.migrate(); !done) return die(done.error().to_string());

  auto bus = bus::open_kafka({.brokers = args["--kafka"], .client_id = "relay-bench"});
  if (!bus) return die(bus.error().to_string());
  const std::string topic = args["--topic"];
  if (auto st = (*bus)->create_topics({{topic, 8}}); !st) return die(st.error().to_string());

  trace::Tracer tracer(trace::Sampler{}, nullptr);
  bus::Outbox outbox(**db, (*bus)->system(), tracer, SystemClock::instance());
  const std::string payload(size, 'x');
  constexpr int kPerTransaction = 1000;
  for (int done = 0; done < messages; done += kPerTransaction) {
    auto st = (*db)->transact([&](db::Session& s) -> Status {
      for (int i = done; i < std::min(messages, done + kPerTransaction); ++i) {
        auto id = outbox.add(s, {.topic = topic,
                                 .key = "key-" + std::to_string(i % 1000),
                                 .type = "bench.message",
                                 .payload = payload});
        if (!id) return fail(id.error());
      }
      return ok();
    });
    if (!st) return die(st.error().to_string());
  }

  bus::OutboxRelay relay("bench", **db, **bus, (*bus)->system(), tracer, SystemClock::instance(),
                         {.owner = "bench", .batch_size = batch});
  const auto start = Stopwatch::now();
  size_t published = 0;
  while (published < static_cast<size_t>(messages)) {
    auto n = relay.run_once();
    if (!n) return die(n.error().to_string());
    if (*n == 0) break;
    published += *n;
  }
  const double elapsed = seconds_since(start);
  std::printf("relay: %zu messages of %zu bytes in %.2f s (batch %d)\n", published, size, elapsed,
              batch);
  std::printf("relay_msgs_per_s=%.0f\n", static_cast<double>(published) / elapsed);
  return published == static_cast<size_t>(messages) ? 0 : die("not every row was published");
}

int bench_log(std::map<std::string, std::string>& args, int messages, size_t size, int batch) {
  auto bus =
      bus::open_embedded_log({.path = args["--dir"] + "/bench-bus.db"}, SystemClock::instance());
  if (!bus) return die(bus.error().to_string());
  if (auto st = (*bus)->create_topics({{"bench", 8}}); !st) return die(st.error().to_string());
  std::atomic<int> consumed{0};
  auto sub = (*bus)->subscribe(
      {.group = "bench", .topics = {"bench"}, .handler = [&](const bus::Message&) {
         consumed.fetch_add(1, std::memory_order_relaxed);
         return ok();
       }});
  if (!sub) return die(sub.error().to_string());
  const std::string payload(size, 'x');
  const auto start = Stopwatch::now();
  std::vector<bus::OutgoingMessage> chunk;
  for (int i = 0; i < messages; ++i) {
    chunk.push_back(
        {.topic = "bench", .key = "key-" + std::to_string(i % 1000), .payload = payload});
    if (static_cast<int>(chunk.size()) == batch || i + 1 == messages) {
      for (const auto& r : (*bus)->publish(chunk)) {
        if (!r) return die(r.error().to_string());
      }
      chunk.clear();
    }
  }
  const double publish_elapsed = seconds_since(start);
  while (consumed.load() < messages) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double elapsed = seconds_since(start);
  std::printf(
      "embedded log: %d messages of %zu bytes published in %.2f s, all consumed in %.2f s\n",
      messages, size, publish_elapsed, elapsed);
  std::printf("embedded_log_msgs_per_s=%.0f\n", messages / elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return die("usage: relay_benchmark relay|log [options]");
  const std::string mode = argv[1];
  std::map<std::string, std::string> args;
  for (int i = 2; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  const int messages = args.contains("--messages") ? std::stoi(args["--messages"]) : 100000;
  const size_t size = args.contains("--size") ? std::stoul(args["--size"]) : 1024;
  const int batch = args.contains("--batch") ? std::stoi(args["--batch"]) : 1000;
  if (mode == "relay") return bench_relay(args, messages, size, batch);
  if (mode == "log") return bench_log(args, messages, size, batch);
  return die("unknown mode " + mode);
}
