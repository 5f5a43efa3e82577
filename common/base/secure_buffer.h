// Holder for secret bytes (TOTP seeds, codes). Wiped on destruction and on
// every reassignment so a secret does not linger in freed heap memory.
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::base {

class SecureBuffer {
public:
    SecureBuffer() = default;
    explicit SecureBuffer(std::string_view bytes) : data_(bytes.begin(), bytes.end()) {}
    SecureBuffer(const uint8_t* p, size_t n) : data_(p, p + n) {}
    ~SecureBuffer() { wipe(); }

    SecureBuffer(const SecureBuffer& o) : data_(o.data_) {}
    SecureBuffer& operator=(const SecureBuffer& o) {
        if (this != &o) {
            wipe();
            data_ = o.data_;
        }
        return *this;
    }
    SecureBuffer(SecureBuffer&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
    SecureBuffer& operator=(SecureBuffer&& o) noexcept {
        if (this != &o) {
            wipe();
            data_ = std::move(o.data_);
            o.data_.clear();
        }
        return *this;
    }

    const char* data() const { return data_.data(); }
    char* data() { return data_.data(); }
    size_t size() const { return data_.size(); }
    bool empty() const { return data_.empty(); }
    std::string_view view() const { return {data_.data(), data_.size()}; }

    void wipe() {
        if (!data_.empty()) OPENSSL_cleanse(data_.data(), data_.size());
        data_.clear();
    }

    // Constant-time equality; the length is not secret.
    bool equals(std::string_view other) const {
        return other.size() == data_.size() && CRYPTO_memcmp(data_.data(), other.data(), data_.size()) == 0;
    }

private:
    std::vector<char> data_;
};

}  // namespace elevate::base
