#include "metrics/registry.hpp"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace seatflow::metrics {

Registry::Registry() : registry_(std::make_shared<prometheus::Registry>()) {}

Registry::~Registry() = default;

std::string Registry::serialize() const {
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace seatflow::metrics
