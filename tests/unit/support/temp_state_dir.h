// A private temporary state directory for one unit test: 0700, as
// Store::open demands, and removed with everything in it when the object
// goes (also after a failed assertion).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace elevate::test {

class TempStateDir {
public:
    explicit TempStateDir(const std::string& prefix) {
        std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
        path_ = tmpl;
        if (::chmod(path_.c_str(), 0700) != 0) throw std::runtime_error("chmod 0700 " + path_ + " failed");
    }
    ~TempStateDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempStateDir(const TempStateDir&) = delete;
    TempStateDir& operator=(const TempStateDir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace elevate::test
