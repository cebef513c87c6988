// The reservation service: its name and its schema.
//
// Its migrations are the V<n>__<description>.sql files of this folder's
// migrations/ subfolder (docs/migrations.md), embedded in the binary at build
// time.
#pragma once

#include <string_view>
#include <vector>

#include "db/migrations.hpp"

namespace seatflow::reservation {

inline constexpr std::string_view kServiceName = "reservation";

std::vector<db::MigrationFile> migration_files();

}  // namespace seatflow::reservation
