// The trace-conformance route driven the way the W3C Trace Context test
// harness drives it: a request with some trace headers and a list of
// callbacks; the checks are made on the headers the callbacks receive. The
// cases follow the harness's (TraceContextTest and AdvancedTest, strict
// level 2) and Level 2's random flag, in this project's own words.
#include "http/conformance.hpp"

#include <map>
#include <mutex>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "http/server.hpp"
#include "http/test_client.hpp"
#include "http/tracing.hpp"
#include "metrics/registry.hpp"

namespace seatflow::http {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kTraceId = "12345678901234567890123456789012";
constexpr std::string_view kParentId = "1234567890123456";
const std::string kValid = "00-12345678901234567890123456789012-1234567890123456-01";
const std::string kValidUnsampled = "00-12345678901234567890123456789012-1234567890123456-00";

// What a callback received, read the way the harness reads it.
struct Callback {
  HeaderList headers;

  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers) {
      if (iequals(k, name)) out.push_back(v);
    }
    return out;
  }
  // The one traceparent, split into version, trace id, parent id, flags.
  std::vector<std::string> traceparent() const {
    const auto values = all("traceparent");
    EXPECT_EQ(values.size(), 1U) << "expected exactly one traceparent";
    if (values.size() != 1) return {};
    static const std::regex kFormat("^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$");
    std::smatch m;
    EXPECT_TRUE(std::regex_match(values[0], m, kFormat)) << values[0];
    if (m.empty()) return {};
    EXPECT_NE(m[2].str(), std::string(32, '0'));
    EXPECT_NE(m[3].str(), std::string(16, '0'));
    return {m[1].str(), m[2].str(), m[3].str(), m[4].str()};
  }
  std::string trace_id() const {
    auto p = traceparent();
    return p.empty() ? "" : p[1];
  }
  // Every tracestate member in order, as "key=value" strings.
  std::vector<std::string> tracestate() const {
    std::vector<std::string> members;
    for (const auto& value : all("tracestate")) {
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string member = value.substr(start, comma - start);
        member.erase(0, member.find_first_not_of(" \t"));
        member.erase(member.find_last_not_of(" \t") + 1);
        if (!member.empty()) members.push_back(member);
        start = comma + 1;
      }
    }
    return members;
  }
  std::optional<std::string> member(std::string_view key) const {
    for (const auto& m : tracestate()) {
      const size_t eq = m.find('=');
      if (m.substr(0, eq) == key) return m.substr(eq + 1);
    }
    return std::nullopt;
  }
};

std::string fmt_member(int i) {
  const std::string n = (i < 10 ? "0" : "") + std::to_string(i);
  return "bar" + n + "=" + n;
}

class TraceConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.set_tracer(&tracer_);
    add_trace_conformance_route(router_, client_);
    service_ = std::make_unique<HttpServer>(ServerOptions{.port = 0, .threads = 1},
                                            chain({tracing_middleware(tracer_)},
                                                  [this](Request& r, Responder responder) {
                                                    router_.dispatch(r, std::move(responder));
                                                  }),
                                            registry_);
    ASSERT_TRUE(service_->start());
    harness_ = std::make_unique<HttpServer>(
        ServerOptions{.port = 0, .threads = 1},
        [this](Request& r, Responder responder) {
          {
            std::lock_guard lock(mutex_);
            Callback& callback = callbacks_[r.path];
            for (const auto& h : r.headers) callback.headers.emplace_back(h.name, h.value);
            bodies_[r.path] = r.body;
          }
          responder.send(Response::json(200, "null"));
        },
        registry_);
    ASSERT_TRUE(harness_->start());
  }

  // Calls the route with `headers` and `count` callbacks; returns what each
  // callback received.
  std::vector<Callback> call(const HeaderList& headers, int count = 1) {
    {
      std::lock_guard lock(mutex_);
      callbacks_.clear();
    }
    std::string body = "[";
    for (int i = 0; i < count; ++i) {
      if (i > 0) body += ",";
      body += R"({"url":"http://127.0.0.1:)" + std::to_string(harness_->port()) + "/callback/" +
              std::to_string(i) + R"(","arguments":[]})";
    }
    body += "]";
    std::string raw = "POST /debug/trace-conformance HTTP/1.1\r\nHost: service\r\n";
    for (const auto& [name, value] : headers) {
      raw.append(name).append(": ").append(value).append("\r\n");
    }
    raw += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
    testing::RawConnection connection(service_->port());
    EXPECT_TRUE(connection.send(raw));
    auto response = connection.read_response();
    EXPECT_TRUE(response && response->status == 200) << (response ? response->body : "no answer");
    std::vector<Callback> out;
    std::lock_guard lock(mutex_);
    for (int i = 0; i < count; ++i) {
      auto it = callbacks_.find("/callback/" + std::to_string(i));
      EXPECT_NE(it, callbacks_.end()) << "the service made no callback " << i;
      out.push_back(it == callbacks_.end() ? Callback{} : it->second);
    }
    return out;
  }
  Callback call_one(const HeaderList& headers) { return call(headers)[0]; }

  // POSTs `body` to the route as JSON, with no trace headers.
  std::optional<testing::RawResponse> post(const std::string& body) const {
    testing::RawConnection connection(service_->port());
    std::string raw =
        "POST /debug/trace-conformance HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\n"
        "Content-Length: ";
    raw.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    if (!connection.send(raw)) return std::nullopt;
    return connection.read_response();
  }

  // The trace continues: same trace id, a new parent id.
  void expect_continued(const HeaderList& headers) {
    const auto tp = call_one(headers).traceparent();
    ASSERT_EQ(tp.size(), 4U);
    EXPECT_EQ(tp[1], kTraceId) << headers.back().second;
    EXPECT_NE(tp[2], kParentId);
  }
  // The trace restarts: a new trace id.
  void expect_restarted(const HeaderList& headers) {
    const std::string id = call_one(headers).trace_id();
    EXPECT_FALSE(id.empty());
    EXPECT_NE(id, kTraceId) << headers.back().second;
  }
  void expect_tracestate_discarded(const HeaderList& ts) {
    HeaderList headers = {{"traceparent", kValidUnsampled}};
    headers.insert(headers.end(), ts.begin(), ts.end());
    const Callback c = call_one(headers);
    EXPECT_EQ(c.trace_id(), kTraceId);
    EXPECT_TRUE(c.tracestate().empty()) << ts.back().second;
  }
  Callback with_tracestate(const HeaderList& ts) {
    HeaderList headers = {{"traceparent", kValidUnsampled}};
    headers.insert(headers.end(), ts.begin(), ts.end());
    return call_one(headers);
  }

  metrics::Registry registry_;
  trace::Tracer tracer_{trace::Sampler{}, nullptr};
  HttpClient client_;
  Router router_;
  std::unique_ptr<HttpServer> service_;
  std::unique_ptr<HttpServer> harness_;
  std::mutex mutex_;
  std::map<std::string, Callback> callbacks_;
  std::map<std::string, std::string> bodies_;
};

TEST_F(TraceConformance, WithoutHeadersATraceStarts) {
  const auto tp = call_one({}).traceparent();
  ASSERT_EQ(tp.size(), 4U);
  EXPECT_EQ(tp[0], "00");
}

TEST_F(TraceConformance, AValidTraceparentIsContinued) {
  expect_continued({{"traceparent", kValid}});
}

TEST_F(TraceConformance, TwoTraceparentsRestartTheTrace) {
  const std::string id =
      call_one({{"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"},
                {"traceparent", kValid}})
          .trace_id();
  EXPECT_NE(id, "12345678901234567890123456789011");
  EXPECT_NE(id, kTraceId);
}

TEST_F(TraceConformance, HeaderNamesAreCaseInsensitiveButExact) {
  for (const char* name : {"TraceParent", "TrAcEpArEnT", "TRACEPARENT"}) {
    expect_continued({{name, kValid}});
  }
  for (const char* name : {"trace-parent", "trace.parent"}) expect_restarted({{name, kValid}});
}

TEST_F(TraceConformance, Versions) {
  // Version 00 is exactly 55 characters.
  expect_restarted({{"traceparent", kValid + "."}});
  expect_restarted({{"traceparent", kValid + "-what-the-future-will-be-like"}});
  // A future version is read by its 00 fields, when what follows starts with '-'.
  const std::string future = "cc-12345678901234567890123456789012-1234567890123456-01";
  expect_continued({{"traceparent", future}});
  expect_continued({{"traceparent", future + "-what-the-future-will-be-like"}});
  expect_restarted({{"traceparent", future + ".what-the-future-will-be-like"}});
  // ff is forbidden; the version is two lowercase hex digits.
  for (const char* version : {"ff", ".0", "0.", "000", "0000", "0"}) {
    expect_restarted({{"traceparent", std::string(version) + kValid.substr(2)}});
  }
}

TEST_F(TraceConformance, TraceIds) {
  for (const char* id : {"00000000000000000000000000000000", ".2345678901234567890123456789012",
                         "1234567890123456789012345678901.", "123456789012345678901234567890123",
                         "1234567890123456789012345678901"}) {
    const std::string tp = "00-" + std::string(id) + "-1234567890123456-01";
    const std::string got = call_one({{"traceparent", tp}}).trace_id();
    EXPECT_NE(got, id);
    EXPECT_NE(got, kTraceId);
    EXPECT_NE(got, "23456789012345678901234567890123");
  }
}

TEST_F(TraceConformance, ParentIds) {
  for (const char* id : {"0000000000000000", ".234567890123456", "123456789012345.",
                         "12345678901234567", "123456789012345"}) {
    expect_restarted({{"traceparent", "00-" + std::string(kTraceId) + "-" + id + "-01"}});
  }
}

TEST_F(TraceConformance, TraceFlags) {
  for (const char* flags : {".0", "0.", "001", "1"}) {
    expect_restarted({{"traceparent", kValid.substr(0, 53) + flags}});
  }
}

TEST_F(TraceConformance, SpacesAndTabsAroundTraceparentAreIgnored) {
  for (const std::string& v :
       {" " + kValid, "\t" + kValid, kValid + " ", kValid + "\t", "\t " + kValid + " \t"}) {
    expect_continued({{"traceparent", v}});
  }
}

TEST_F(TraceConformance, TracestateWithoutTraceparentIsIgnored) {
  EXPECT_TRUE(call_one({{"tracestate", "foo=1"}}).tracestate().empty());
  EXPECT_TRUE(call_one({{"tracestate", "foo=1,bar=2"}}).tracestate().empty());
}

TEST_F(TraceConformance, TracestateIsInherited) {
  const Callback c = with_tracestate({{"tracestate", "foo=1,bar=2"}});
  EXPECT_EQ(c.trace_id(), kTraceId);
  EXPECT_EQ(c.member("foo"), "1");
  EXPECT_EQ(c.member("bar"), "2");
}

TEST_F(TraceConformance, TracestateHeaderNames) {
  EXPECT_FALSE(with_tracestate({{"trace-state", "foo=1"}}).member("foo"));
  EXPECT_FALSE(with_tracestate({{"trace.state", "foo=1"}}).member("foo"));
  for (const char* name : {"TraceState", "TrAcEsTaTe", "TRACESTATE"}) {
    EXPECT_EQ(with_tracestate({{name, "foo=1"}}).member("foo"), "1") << name;
  }
}

TEST_F(TraceConformance, EmptyTracestateHeaders) {
  const Callback empty = with_tracestate({{"tracestate", ""}});
  EXPECT_EQ(empty.trace_id(), kTraceId);
  for (const auto& v : empty.all("tracestate")) EXPECT_FALSE(v.empty());
  EXPECT_EQ(with_tracestate({{"tracestate", "foo=1"}, {"tracestate", ""}}).member("foo"), "1");
  EXPECT_EQ(with_tracestate({{"tracestate", ""}, {"tracestate", "foo=1"}}).member("foo"), "1");
}

TEST_F(TraceConformance, SeveralTracestateHeadersAreCombinedInOrder) {
  const Callback c = with_tracestate(
      {{"tracestate", "foo=1,bar=2"}, {"tracestate", "rojo=1,congo=2"}, {"tracestate", "baz=3"}});
  EXPECT_EQ(c.tracestate(),
            (std::vector<std::string>{"foo=1", "bar=2", "rojo=1", "congo=2", "baz=3"}));
}

TEST_F(TraceConformance, DuplicatedKeysDiscardTheTracestate) {
  expect_tracestate_discarded({{"tracestate", "foo=1,foo=1"}});
  expect_tracestate_discarded({{"tracestate", "foo=1,foo=2"}});
  expect_tracestate_discarded({{"tracestate", "foo=1"}, {"tracestate", "foo=1"}});
  expect_tracestate_discarded({{"tracestate", "foo=1"}, {"tracestate", "foo=2"}});
}

TEST_F(TraceConformance, EveryAllowedCharacterSurvives) {
  std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string value;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value.push_back(c);
  }
  EXPECT_EQ(with_tracestate({{"tracestate", key + "=" + value}}).member(key), value);
  key += "@a-z0-9_-*/";
  EXPECT_EQ(with_tracestate({{"tracestate", key + "=" + value}}).member(key), value);
}

TEST_F(TraceConformance, SpacesAndTabsAroundMembersAreIgnored) {
  for (const char* ts : {"foo=1 \t , \t bar=2, \t baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"}) {
    const Callback c = with_tracestate({{"tracestate", ts}});
    EXPECT_EQ(c.member("foo"), "1");
    EXPECT_EQ(c.member("bar"), "2");
    EXPECT_EQ(c.member("baz"), "3");
  }
  for (const char* ts : {" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"}) {
    EXPECT_EQ(with_tracestate({{"tracestate", ts}}).member("foo"), "1") << ts;
  }
}

TEST_F(TraceConformance, IllegalKeysDiscardTheTracestate) {
  for (const char* ts : {"foo =1", "FOO=1", "foo.bar=1", "foo@=1,bar=2", "@foo=1,bar=2",
                         "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2"}) {
    expect_tracestate_discarded({{"tracestate", ts}});
  }
}

TEST_F(TraceConformance, AtMost32Members) {
  std::string first;
  std::string second;
  for (int i = 1; i <= 16; ++i) first += fmt_member(i) + (i < 16 ? "," : "");
  for (int i = 17; i <= 32; ++i) second += fmt_member(i) + (i < 32 ? "," : "");
  const Callback c = with_tracestate({{"tracestate", first}, {"tracestate", second}});
  EXPECT_EQ(c.member("bar01"), "01");
  EXPECT_EQ(c.tracestate().size(), 32U);
  expect_tracestate_discarded({{"tracestate", first}, {"tracestate", second + ",bar33=33"}});
}

TEST_F(TraceConformance, KeyLengthLimits) {
  EXPECT_EQ(with_tracestate({{"tracestate", "foo=1"}, {"tracestate", std::string(256, 'z') + "=1"}})
                .member("foo"),
            "1");
  expect_tracestate_discarded(
      {{"tracestate", "foo=1"}, {"tracestate", std::string(257, 'z') + "=1"}});
  EXPECT_EQ(
      with_tracestate({{"tracestate", "foo=1"},
                       {"tracestate", std::string(241, 't') + "@" + std::string(14, 'v') + "=1"}})
          .member("foo"),
      "1");
  expect_tracestate_discarded(
      {{"tracestate", "foo=1"}, {"tracestate", std::string(242, 't') + "@v=1"}});
  expect_tracestate_discarded(
      {{"tracestate", "foo=1"}, {"tracestate", "t@" + std::string(15, 'v') + "=1"}});
}

TEST_F(TraceConformance, IllegalValuesDiscardTheTracestate) {
  expect_tracestate_discarded({{"tracestate", "foo=bar=baz"}});
  expect_tracestate_discarded({{"tracestate", "foo=,bar=3"}});
}

TEST_F(TraceConformance, EachCallbackHasItsOwnSpanInTheSameTrace) {
  std::set<std::string> traces;
  std::set<std::string> parents;
  for (const auto& c : call({{"traceparent", kValid}}, 3)) {
    traces.insert(c.trace_id());
    parents.insert(c.traceparent()[2]);
  }
  EXPECT_EQ(traces, std::set<std::string>{std::string(kTraceId)});
  EXPECT_EQ(parents.size(), 3U);
}

TEST_F(TraceConformance, EachCallbackHasItsOwnSpanWithoutATraceparent) {
  std::set<std::string> traces;
  std::set<std::string> parents;
  for (const auto& c : call({}, 3)) {
    traces.insert(c.trace_id());
    parents.insert(c.traceparent()[2]);
  }
  EXPECT_EQ(traces.size(), 1U);  // one trace, started by the route
  EXPECT_EQ(parents.size(), 3U);
}

TEST_F(TraceConformance, AnIllegalTraceparentGetsANewTraceForEveryCallback) {
  std::set<std::string> parents;
  for (const auto& c :
       call({{"traceparent", "00-" + std::string(32, '0') + "-1234567890123456-01"}}, 3)) {
    EXPECT_NE(c.trace_id(), std::string(32, '0'));
    parents.insert(c.traceparent()[2]);
  }
  EXPECT_EQ(parents.size(), 3U);
}

TEST_F(TraceConformance, Level2RandomFlag) {
  // A trace started here has a random trace id, and says so.
  const auto started = call_one({}).traceparent();
  ASSERT_EQ(started.size(), 4U);
  EXPECT_EQ(std::stoi(started[3], nullptr, 16) & 0x02, 0x02);
  // A continued trace keeps the caller's claim, and makes none of its own.
  EXPECT_EQ(call_one({{"traceparent", kValid}}).traceparent()[3], "01");
  EXPECT_EQ(call_one({{"traceparent", kValid.substr(0, 53) + "03"}}).traceparent()[3], "03");
  // Unsampled stays unsampled; unknown flags are not passed on.
  EXPECT_EQ(call_one({{"traceparent", kValidUnsampled}}).traceparent()[3], "00");
  EXPECT_EQ(call_one({{"traceparent", kValid.substr(0, 53) + "ff"}}).traceparent()[3], "03");
}

TEST_F(TraceConformance, CallbacksGetTheArgumentsAsJson) {
  const std::string body = R"([{"url":"http://127.0.0.1:)" + std::to_string(harness_->port()) +
                           R"(/callback/a","arguments":[{"url":"http://x/"}]},)" +
                           R"({"url":"http://127.0.0.1:)" + std::to_string(harness_->port()) +
                           R"(/callback/b"}])";
  auto response = post(body);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(bodies_["/callback/a"], R"([{"url":"http://x/"}])");
  EXPECT_EQ(bodies_["/callback/b"], "[]");
}

TEST_F(TraceConformance, BadBodiesAreRefusedWithAProblem) {
  for (const char* body : {"{}", "[1]", R"([{"url":5}])", R"([{"url":"ftp://x"}])", "[", ""}) {
    auto response = post(body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << body;
    EXPECT_EQ(response->header("Content-Type"), "application/problem+json");
  }
}

}  // namespace
}  // namespace seatflow::http
