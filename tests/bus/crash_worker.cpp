// A process that runs an outbox relay and an inbox consumer until killed:
// the crash test (crash_test.cpp) kills it with SIGKILL mid-batch and starts
// it again.
//
// Usage: bus_crash_worker (--sqlite FILE | --postgres URL --schema NAME)
//                         (--log FILE | --kafka BROKERS) --topic T --deliveries FILE
// Each delivery the consumer sees is appended to the deliveries file as its
// message id; the handler's effect is a row in the `effects` table.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "bus/embedded_log.hpp"
#include "bus/inbox.hpp"
#include "bus/kafka_bus.hpp"
#include "bus/outbox.hpp"
#include "db/postgres_database.hpp"
#include "db/sqlite_database.hpp"

using namespace seatflow;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int /*signal*/) { g_stop = 1; }

int die(const std::string& what) {
  std::fprintf(stderr, "bus_crash_worker: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  Result<std::unique_ptr<db::Database>> db = fail(ErrorCode::kInvalidArgument, "no database");
  if (args.contains("--sqlite")) {
    db = db::open_sqlite({.path = args["--sqlite"]});
  } else {
    db = db::open_postgres({.conninfo = args["--postgres"], .schema = args["--schema"]});
  }
  if (!db) return die(db.error().to_string());
  Result<std::unique_ptr<bus::Bus>> bus = fail(ErrorCode::kInvalidArgument, "no bus");
  if (args.contains("--log")) {
    bus = bus::open_embedded_log({.path = args["--log"]}, SystemClock::instance());
  } else {
    bus = bus::open_kafka({.brokers = args["--kafka"], .client_id = "crash-worker"});
  }
  if (!bus) return die(bus.error().to_string());
  const int deliveries = open(args["--deliveries"].c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (deliveries < 0) return die("cannot open the deliveries file");

  trace::Tracer tracer(trace::Sampler{}, nullptr);
  bus::Inbox inbox(**db, (*bus)->system(), tracer, SystemClock::instance(),
                   {.consumer = "crash-test"});
  auto sub = (*bus)->subscribe(
      {.group = "crash-test",
       .topics = {args["--topic"]},
       .handler = [&](const bus::Message& m) -> Status {
         const std::string line = m.id() + "\n";
         if (write(deliveries, line.data(), line.size()) < 0) {
           return fail(ErrorCode::kInternal, "cannot record the delivery");
         }
         return inbox.handle(m, [](db::Session& s, const bus::Message& message) -> Status {
           auto n = s.execute("INSERT INTO effects (message_id) VALUES ($1)", {message.id()});
           if (!n) return fail(n.error());
           return ok();
         });
       }});
  if (!sub) return die(sub.error().to_string());
  // A pause between publishing and deleting the rows makes a kill land there more often.
  bus::OutboxRelay relay("crash-test", **db, **bus, (*bus)->system(), tracer,
                         SystemClock::instance(),
                         {.owner = "crash-worker", .batch_size = 100, .before_settle = [] {
                            std::this_thread::sleep_for(std::chrono::milliseconds(20));
                            return true;
                          }});
  if (auto st = relay.start(); !st) return die(st.error().to_string());
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::puts("ready");
  std::fflush(stdout);
  while (g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  relay.stop();
  (*sub)->stop();
  close(deliveries);
  return 0;
}
