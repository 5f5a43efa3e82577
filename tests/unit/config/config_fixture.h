// The loader test fixture: a private directory per test holding elevate.conf,
// its drop-ins and a fake group file. Shared by the loader test files.
#pragma once

#include "common/config/config.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

using namespace elevate::config;

namespace {

// A role that passes every check, for tests about something else.
constexpr const char* kDbAdmin = R"(
[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["alice"]
)";

// Each test gets its own directory holding elevate.conf, elevate.conf.d/ and
// a fake /etc/group, so the host's groups never influence a result.
class ConfigLoad : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "elevate-config-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        main_ = dir_ + "/elevate.conf";
        options_.system_group_file = write("group", "root:x:0:\nstaff:x:50:alice,bob\n");
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        std::string path = dir_ + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::ofstream(path) << text;
        return path;
    }
    std::string write_main(const std::string& text) { return write("elevate.conf", text); }
    std::string write_drop_in(const std::string& name, const std::string& text) {
        return write("elevate.conf.d/" + name, text);
    }

    elevate::base::Result<Config> load() { return load_config(main_, options_); }

    Config load_ok() {
        auto config = load();
        EXPECT_TRUE(config.ok()) << config.error().message;
        return config.ok() ? std::move(config).value() : Config{};
    }

    // The error for a main file holding `text`; empty if it loaded.
    std::string error_for(const std::string& text) {
        write_main(text);
        return load_error();
    }

    std::string load_error() {
        auto config = load();
        EXPECT_FALSE(config.ok()) << "loaded, but expected an error";
        return config.ok() ? std::string() : config.error().message;
    }

    std::string dir_;
    std::string main_;
    LoadOptions options_;
};

#define EXPECT_CONTAINS(haystack, needle)                                                               \
    do {                                                                                                \
        const std::string h_ = (haystack);                                                              \
        EXPECT_NE(h_.find(needle), std::string::npos) << "message: " << h_ << "\nwanted: " << (needle); \
    } while (0)

}  // namespace
