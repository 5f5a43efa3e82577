// A QR code drawn in the terminal with Unicode half blocks (two module rows
// per text line), so an enrollment URI can be scanned straight off the
// screen. Colours are set explicitly (white modules on black) so the code
// scans on light and dark terminal themes alike.
#pragma once

#include "common/base/result.h"

#include <string>
#include <string_view>

namespace elevate::cli {

base::Result<std::string> render_qr(std::string_view text);

}  // namespace elevate::cli
