// libFuzzer target for the config loader: elevated --check-config reads
// whatever an admin wrote (and a package's drop-ins). Every input must give
// a config or an error value: never a crash, a hang or an escaping
// exception (toml++ throws; the loader must catch).
#include "common/config/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

std::string g_dir;  // private (mkdtemp, 0700), removed at exit
std::string g_conf;
elevate::config::LoadOptions g_options;

bool write_file(const std::string& path, const void* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/elevate-fuzz-config-XXXXXX";
    if (!mkdtemp(tmpl.data())) __builtin_trap();
    g_dir = tmpl;
    g_conf = g_dir + "/elevate.conf";
    // The groups the seeds name, so that rules get past the group check
    // without depending on the host's /etc/group.
    static const char kGroups[] = "root:x:0:\ndbas:x:50:alice\nsec-leads:x:51:bob\nstaff:x:52:\n";
    g_options.system_group_file = g_dir + "/group";
    if (!write_file(*g_options.system_group_file, kGroups, sizeof kGroups - 1)) __builtin_trap();
    std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(g_dir, ec);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (!write_file(g_conf, data, size)) __builtin_trap();
    auto config = elevate::config::load_config(g_conf, g_options);
    // An error always says something (file:line: key, message).
    if (!config.ok() && config.error().message.empty()) __builtin_trap();
    return 0;
}
