#include "common/base/result.h"

#include <cstring>

namespace elevate::base {

Error errno_error(std::string message, int code) {
    message += ": ";
    message += std::strerror(code);
    return Error{code, std::move(message)};
}

}  // namespace elevate::base
