#include "http/conformance.hpp"

#include <memory>
#include <optional>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "http/json.hpp"
#include "trace/span.hpp"

namespace seatflow::http {
namespace {

struct Action {
  std::string url;
  std::string body;  // the arguments, serialized
};

// The actions of a request body, or the reason it is not a list of them.
Result<std::vector<Action>> parse_actions(const boost::json::value& body) {
  if (!body.is_array()) return fail(ErrorCode::kInvalidArgument, "the body must be a JSON array");
  std::vector<Action> actions;
  for (size_t i = 0; i < body.as_array().size(); ++i) {
    const auto& item = body.as_array()[i];
    const auto* object = item.if_object();
    const auto* url = object != nullptr ? object->if_contains("url") : nullptr;
    if (url == nullptr || !url->is_string() || !url->as_string().starts_with("http://")) {
      return fail(ErrorCode::kInvalidArgument,
                  "item " + std::to_string(i) + " must be an object with an http:// \"url\"");
    }
    const auto* arguments = object->if_contains("arguments");
    const bool empty = arguments == nullptr || arguments->is_null();
    actions.push_back({std::string(url->as_string()),
                       empty ? std::string("[]") : boost::json::serialize(*arguments)});
  }
  return actions;
}

// Runs the actions one after another, then answers with their outcomes.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(HttpClient& client, std::vector<Action> actions, std::optional<trace::SpanContext> parent,
      Responder responder)
      : client_(client),
        actions_(std::move(actions)),
        parent_(std::move(parent)),
        responder_(std::move(responder)) {}

  void next() {
    if (index_ == actions_.size()) {
      boost::json::object body;
      body["results"] = std::move(results_);
      responder_.send(json_response(200, body));
      return;
    }
    ClientRequest request;
    request.method = Method::kPost;
    request.url = actions_[index_].url;
    request.body = actions_[index_].body;
    request.headers.set("Content-Type", "application/json");
    request.deadline = std::chrono::seconds(5);
    // The client span is a child of the route's span, wherever this runs.
    std::optional<trace::Scope> scope;
    if (parent_) scope.emplace(*parent_);
    client_.async_send(std::move(request), [self = shared_from_this()](auto response) {
      boost::json::object result;
      result["url"] = self->actions_[self->index_].url;
      if (response) {
        result["status"] = response->status;
      } else {
        result["error"] = response.error().message();
      }
      self->results_.push_back(std::move(result));
      ++self->index_;
      self->next();
    });
  }

 private:
  HttpClient& client_;
  const std::vector<Action> actions_;
  const std::optional<trace::SpanContext> parent_;  // the route's span
  Responder responder_;
  size_t index_ = 0;
  boost::json::array results_;
};

}  // namespace

void add_trace_conformance_route(Router& router, HttpClient& client) {
  router.add(Method::kPost, kTraceConformancePath,
             [&client](Request& request, Responder responder) {
               auto body = parse_json_body(request);
               if (!body) return responder.send(json_error_response(body.error()));
               auto actions = parse_actions(*body);
               if (!actions) return responder.send(problem(400, actions.error().message()));
               const trace::SpanContext* current = trace::current_context();
               std::optional<trace::SpanContext> parent;
               if (current != nullptr) parent = *current;
               auto run = std::make_shared<Run>(client, std::move(*actions), std::move(parent),
                                                std::move(responder));
               run->next();
             });
}

}  // namespace seatflow::http
