// The web UI on the API's port: the built files of web/ at / (client-side
// routes get index.html) and GET /api/ui-config, what the UI needs to know
// of this installation.
#pragma once

#include <string>

#include "app/settings.hpp"
#include "http/router.hpp"

namespace seatflow::app {

// Mounts the UI on `router` as its fallback. Returns the folder served, or
// an empty string when no built UI was found (the API runs regardless, and
// / says how to build the UI).
std::string add_web_ui(http::Router& router, const UiSettings& settings);

}  // namespace seatflow::app
