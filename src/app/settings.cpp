#include "app/settings.hpp"

namespace seatflow::app {

ConfigSchema config_schema() {
  using T = ConfigType;
  return {
      {"data_dir", T::kString, "./data",
       "Folder of the embedded mode's SQLite files (one per service)."},
      {"log.level",
       T::kString,
       "info",
       "Lowest level written.",
       {"trace", "debug", "info", "warn", "error", "off"}},
      {"log.format",
       T::kString,
       "text",
       "text: human-readable lines; json: one object per line.",
       {"text", "json"}},
      {"process.cpu_scheduling",
       T::kString,
       "auto",
       "batch: a thread of the server that wakes up waits for the running one's turn instead of "
       "taking the CPU from it (Linux's SCHED_BATCH), so under load each thread gets through "
       "more work per turn; unchanged: the policy the process was started with (by chrt, or "
       "systemd's CPUSchedulingPolicy); auto: batch for `up`, unchanged for `serve`.",
       {"auto", "batch", "unchanged"}},
      {"database.backend",
       T::kString,
       "sqlite",
       "sqlite: files under data_dir (embedded); postgres: database.url (distributed).",
       {"sqlite", "postgres"}},
      {"database.url", T::kString, "",
       "PostgreSQL connection string, e.g. postgresql://seatflow@127.0.0.1:5432/seatflow. "
       "Each service uses its own schema, named after it."},
      {"database.pool_size", T::kInteger, "8", "PostgreSQL connections per service.", {}, 1, 512},
      {"database.acquire_timeout", T::kDuration, "5s",
       "How long a request waits for a free PostgreSQL connection."},
      {"database.connect_timeout", T::kDuration, "5s", "PostgreSQL connect timeout."},
      {"database.notify_interval", T::kDuration, "20ms",
       "PostgreSQL: the shortest time between two NOTIFYs a process sends on one channel (the "
       "outbox's, the saga's). Commits inside it are announced together when it ends, at most "
       "this late: each NOTIFY wakes every listener of the database. 0 sends one with every "
       "commit."},
      {"database.sqlite_busy_timeout", T::kDuration, "5s",
       "How long SQLite waits for a lock held by another process."},
      {"database.sqlite_synchronous",
       T::kString,
       "NORMAL",
       "SQLite durability: NORMAL survives a process crash; FULL also survives power loss.",
       {"NORMAL", "FULL"}},
      {"database.sqlite_exclusive", T::kBoolean, "true",
       "The SQLite files of the data folder belong to the process that opens them, for as long "
       "as it runs: no other process (another seatflow, the sqlite3 shell) can open them, and no "
       "transaction takes a file lock. false lets other processes share them, at about 8 % more "
       "CPU per purchase."},
      {"http.host", T::kString, "127.0.0.1",
       "Address the server listens on; 0.0.0.0 for every interface."},
      {"http.port",
       T::kInteger,
       "8080",
       "Port of the UI and every API; 0 picks a free one.",
       {},
       0,
       65535},
      {"http.threads",
       T::kInteger,
       "4",
       "Worker threads of the HTTP server. A handler that waits for its database holds its "
       "thread meanwhile; with more threads than cores, the others keep the CPU busy.",
       {},
       1,
       256},
      {"http.max_header_bytes",
       T::kInteger,
       "16384",
       "Largest request head (request line and headers); larger gets 431.",
       {},
       1024,
       1048576},
      {"http.max_body_bytes",
       T::kInteger,
       "1048576",
       "Largest request body; larger gets 413.",
       {},
       0,
       1073741824},
      {"http.read_timeout", T::kDuration, "10s",
       "Time to receive a whole request once it has begun; slower gets 408."},
      {"http.idle_timeout", T::kDuration, "60s",
       "How long a keep-alive connection may wait for its next request."},
      {"http.write_timeout", T::kDuration, "10s",
       "Time a client has to accept a response (or an SSE event) before it is dropped."},
      {"http.max_connections",
       T::kInteger,
       "20000",
       "Open connections at most; more get 503.",
       {},
       1,
       1000000},
      {"http.shutdown_grace", T::kDuration, "10s",
       "On shutdown, how long requests in flight may take to finish."},
      {"http.access_log", T::kBoolean, "true", "Log one line per request at info level."},
      {"sse.replay_capacity",
       T::kInteger,
       "1024",
       "Events kept per stream to replay to clients that resume with Last-Event-ID.",
       {},
       0,
       1000000},
      {"sse.max_queued_bytes",
       T::kInteger,
       "262144",
       "Bytes queued for one slow SSE client before it is disconnected.",
       {},
       1024,
       1073741824},
      {"sse.heartbeat", T::kDuration, "15s", "Comment line sent on idle SSE streams."},
      {"bus.backend",
       T::kString,
       "embedded",
       "embedded: a durable log in <data_dir>/bus.db; kafka: the brokers of bus.kafka_brokers.",
       {"embedded", "kafka"}},
      {"bus.kafka_brokers", T::kString, "", "Kafka bootstrap servers, host:port[,host:port...]."},
      {"bus.kafka_fetch_wait", T::kDuration, "30ms",
       "Longest a consumer's fetch waits for bus.kafka_fetch_min_bytes: under load a fetch "
       "brings many messages at once; when idle a message may wait this long."},
      {"bus.kafka_fetch_min_bytes",
       T::kInteger,
       "65536",
       "Bytes a consumer's fetch waits for (up to bus.kafka_fetch_wait); 1 answers at once, "
       "for the lowest latency when idle at the broker's cost under load.",
       {},
       1,
       104857600},
      {"bus.partitions",
       T::kInteger,
       "8",
       "Partitions of each topic `seatflow topics` (or `migrate`) creates.",
       {},
       1,
       1000},
      {"bus.replication_factor",
       T::kInteger,
       "1",
       "Replicas of each Kafka topic created.",
       {},
       1,
       16},
      {"outbox.batch_size",
       T::kInteger,
       "1000",
       "Outbox rows a relay publishes at a time.",
       {},
       1,
       10000},
      {"outbox.poll_interval", T::kDuration, "1s",
       "How often an idle relay looks for rows it was not woken for (another process's)."},
      {"outbox.lease", T::kDuration, "10s",
       "How long a relay holds its outbox lanes without renewing; a replica takes over after."},
      {"outbox.retention", T::kDuration, "24h",
       "Retired, and ignored: the outbox keeps no sent rows (a row is deleted once the bus has "
       "acknowledged its message)."},
      {"outbox.linger", T::kDuration, "5ms",
       "How long a relay woken by a new row waits for more before it publishes: under load "
       "one pass then carries many rows; 0 publishes at once."},
      {"inbox.max_attempts",
       T::kInteger,
       "5",
       "Failed attempts at a message before it goes to the dead_letters table.",
       {},
       1,
       1000},
      {"inbox.retention", T::kDuration, "168h",
       "How long a consumer remembers a handled message, to drop its redelivery; at least as "
       "long as the bus keeps messages (the embedded log: 7 days; Kafka: the topic's "
       "retention.ms)."},
      {"auth.session_secret", T::kString, "",
       "Key that signs buyers' session tokens and their tickets' codes (32 bytes or more); every "
       "replica needs the same, and changing it voids every ticket issued. Empty: `up` generates "
       "one and keeps it in <data_dir>/session.secret."},
      {"auth.admin_token", T::kString, "",
       "Bearer token of the admin API (creating events). Empty: the admin API refuses everyone."},
      {"auth.service_token", T::kString, "",
       "Bearer token services present to each other's /internal routes. Empty: `up` makes a "
       "random one per run."},
      {"auth.session_ttl", T::kDuration, "24h", "How long a buyer's session token is valid."},
      {"reservation.hold_ttl", T::kDuration, "10m", "How long a hold keeps its seats."},
      {"reservation.max_seats_per_buyer",
       T::kInteger,
       "10",
       "Seats a buyer may hold or buy per event, together. An event may allow fewer (its "
       "max_seats_per_buyer), not more.",
       {},
       1,
       1000},
      {"reservation.sweep_interval", T::kDuration, "1s",
       "How often expired holds are looked for and released."},
      {"reservation.seat_map_max_age", T::kDuration, "1s",
       "How long the seat states of a seat map read (and of a best-available pick) are served "
       "from memory (kept current by this replica's own changes and the live stream of "
       "changes) before they are read from the database again. 0 reads the database every "
       "time."},
      {"payment.gateway_latency", T::kDuration, "0ms",
       "Time the mock card gateway takes to answer each authorization."},
      {"payment.failure_ratio", T::kDouble, "0",
       "Share (0 to 1) of authorizations the mock gateway fails with 503, for testing retries."},
      {"payment.slow_card_delay", T::kDuration, "30s",
       "Extra time the slow test card takes; longer than order.payment_timeout."},
      {"order.payment_timeout", T::kDuration, "5s",
       "Deadline of one authorization call; after it the outcome is unknown and the payment is "
       "voided."},
      {"order.authorize_deadline", T::kDuration, "30s",
       "Authorization calls that fail outright (payment unreachable) are retried until this "
       "long after the order was placed; then it is voided and cancelled."},
      {"saga.workers", T::kInteger, "16", "Saga steps run at once per process.", {}, 1, 1024},
      {"saga.lease", T::kDuration, "30s",
       "How long a worker holds a claimed saga step; after it another may take it over."},
      {"services.reservation_url", T::kString, "",
       "Base URL of the reservation service, for the order service. Empty: this process."},
      {"services.payment_url", T::kString, "",
       "Base URL of the payment service, for the order service. Empty: this process."},
      {"demo.event", T::kBoolean, "true",
       "`up` (and `serve reservation`) creates a demo event of 2,000 seats, a month ahead, when "
       "no event is on sale: none yet, or every one has started."},
      {"ui.dir", T::kString, "",
       "The built web UI to serve at /. Empty: web/dist beside the binary's folder, else "
       "./web/dist; without one the API still runs."},
      {"ui.jaeger_url", T::kString, "",
       "Base URL of a Jaeger UI; the order page links the purchase's trace to it."},
      {"trace.conformance_route", T::kBoolean, "false",
       "Mount POST /debug/trace-conformance, the endpoint of the W3C Trace Context test "
       "harness. It makes the server POST to any URL it is given: enable it only for tests."},
  };
}

Settings settings_from(const Config& config) {
  Settings s;
  s.data_dir = config.get_string("data_dir");
  log::parse_level(config.get_string("log.level"), s.log.level);
  log::parse_format(config.get_string("log.format"), s.log.format);
  s.cpu_scheduling = config.get_string("process.cpu_scheduling");
  s.database.backend = config.get_string("database.backend");
  s.database.url = config.get_string("database.url");
  s.database.pool_size = static_cast<int>(config.get_int("database.pool_size"));
  s.database.acquire_timeout = config.get_duration("database.acquire_timeout");
  s.database.connect_timeout = config.get_duration("database.connect_timeout");
  s.database.notify_interval = config.get_duration("database.notify_interval");
  if (s.database.notify_interval > std::chrono::seconds(1)) {
    // Longer, and a relay would wait that long for a row its own poll
    // finds every outbox.poll_interval anyway.
    throw ConfigError("config key 'database.notify_interval' must be at most 1s");
  }
  s.database.sqlite_busy_timeout = config.get_duration("database.sqlite_busy_timeout");
  s.database.sqlite_synchronous = config.get_string("database.sqlite_synchronous");
  s.database.sqlite_exclusive = config.get_bool("database.sqlite_exclusive");
  auto& server = s.http.server;
  server.host = config.get_string("http.host");
  server.port = static_cast<uint16_t>(config.get_int("http.port"));
  server.threads = static_cast<int>(config.get_int("http.threads"));
  server.max_header_bytes = static_cast<size_t>(config.get_int("http.max_header_bytes"));
  server.max_body_bytes = static_cast<size_t>(config.get_int("http.max_body_bytes"));
  server.read_timeout = config.get_duration("http.read_timeout");
  server.idle_timeout = config.get_duration("http.idle_timeout");
  server.write_timeout = config.get_duration("http.write_timeout");
  server.max_connections = static_cast<size_t>(config.get_int("http.max_connections"));
  server.shutdown_grace = config.get_duration("http.shutdown_grace");
  s.http.access_log = config.get_bool("http.access_log");
  s.http.sse.replay_capacity = static_cast<size_t>(config.get_int("sse.replay_capacity"));
  s.http.sse.max_queued_bytes = static_cast<size_t>(config.get_int("sse.max_queued_bytes"));
  s.http.sse.heartbeat = config.get_duration("sse.heartbeat");
  s.trace.conformance_route = config.get_bool("trace.conformance_route");
  s.bus.backend = config.get_string("bus.backend");
  s.bus.kafka_brokers = config.get_string("bus.kafka_brokers");
  s.bus.kafka_fetch_wait = config.get_duration("bus.kafka_fetch_wait");
  s.bus.kafka_fetch_min_bytes = static_cast<int32_t>(config.get_int("bus.kafka_fetch_min_bytes"));
  s.bus.partitions = static_cast<int32_t>(config.get_int("bus.partitions"));
  s.bus.replication_factor = static_cast<int16_t>(config.get_int("bus.replication_factor"));
  s.bus.outbox_batch_size = static_cast<int>(config.get_int("outbox.batch_size"));
  s.bus.outbox_poll_interval = config.get_duration("outbox.poll_interval");
  s.bus.outbox_lease = config.get_duration("outbox.lease");
  if (config.source_of("outbox.retention") != "default") {
    // Accepted rather than refused, so that a configuration written for an
    // earlier build still starts.
    s.warnings.emplace_back(
        "config key 'outbox.retention' is retired and ignored: the outbox deletes a row once the "
        "bus has acknowledged its message");
  }
  s.bus.outbox_linger = config.get_duration("outbox.linger");
  s.bus.inbox_max_attempts = static_cast<int>(config.get_int("inbox.max_attempts"));
  s.bus.inbox_retention = config.get_duration("inbox.retention");
  if (s.bus.inbox_retention < std::chrono::hours(1)) {
    // Shorter, and a redelivered message could find its inbox row gone and
    // take effect twice.
    throw ConfigError("config key 'inbox.retention' must be at least 1h");
  }
  s.auth.session_secret = config.get_string("auth.session_secret");
  s.auth.admin_token = config.get_string("auth.admin_token");
  s.auth.service_token = config.get_string("auth.service_token");
  s.auth.session_ttl = config.get_duration("auth.session_ttl");
  if (!s.auth.session_secret.empty() && s.auth.session_secret.size() < 32) {
    throw ConfigError("config key 'auth.session_secret' must be at least 32 characters");
  }
  s.reservation.hold_ttl = config.get_duration("reservation.hold_ttl");
  s.reservation.max_seats_per_buyer =
      static_cast<int>(config.get_int("reservation.max_seats_per_buyer"));
  s.reservation.sweep_interval = config.get_duration("reservation.sweep_interval");
  s.reservation.seat_map_max_age = config.get_duration("reservation.seat_map_max_age");
  s.payment.latency = config.get_duration("payment.gateway_latency");
  s.payment.failure_ratio = config.get_double("payment.failure_ratio");
  if (s.payment.failure_ratio < 0 || s.payment.failure_ratio > 1) {
    throw ConfigError("config key 'payment.failure_ratio' must be between 0 and 1");
  }
  s.payment.slow_card_delay = config.get_duration("payment.slow_card_delay");
  s.order.payment_timeout = config.get_duration("order.payment_timeout");
  s.order.authorize_deadline = config.get_duration("order.authorize_deadline");
  s.order.workers = static_cast<int>(config.get_int("saga.workers"));
  s.order.lease = config.get_duration("saga.lease");
  s.order.reservation_url = config.get_string("services.reservation_url");
  s.order.payment_url = config.get_string("services.payment_url");
  s.demo_event = config.get_bool("demo.event");
  s.ui.dir = config.get_string("ui.dir");
  s.ui.jaeger_url = config.get_string("ui.jaeger_url");
  if (s.bus.backend == "kafka" && s.bus.kafka_brokers.empty()) {
    throw ConfigError("config key 'bus.kafka_brokers' must be set when bus.backend is kafka");
  }
  if (s.database.backend == "postgres" && s.database.url.empty()) {
    throw ConfigError("config key 'database.url' must be set when database.backend is postgres");
  }
  return s;
}

}  // namespace seatflow::app
