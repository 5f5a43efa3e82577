// The ABI of pam_elevate.so, read from the built file with <elf.h>: it needs
// exactly libpam.so.0 and libc.so.6 (no C++ runtime inside sshd and sudo),
// exports only the six pam_sm_* functions, imports nothing from libstdc++
// or the unwinder, has no thread-local storage, and binds now. Then it is
// dlopen()ed twice and reopened, as sudo and sshd may do.
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

const std::set<std::string> kEntryPoints = {"pam_sm_authenticate", "pam_sm_setcred",       "pam_sm_acct_mgmt",
                                            "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok"};

// A read-only mapping of an ELF64 file with bounds-checked accessors.
class ElfFile {
public:
    explicit ElfFile(const std::string& path) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            size_ = size_t(st.st_size);
            void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) base_ = static_cast<const uint8_t*>(p);
        }
        close(fd);
    }
    ~ElfFile() {
        if (base_) munmap(const_cast<uint8_t*>(base_), size_);
    }

    bool valid() const {
        return base_ && size_ >= sizeof(Elf64_Ehdr) && memcmp(base_, ELFMAG, SELFMAG) == 0 &&
               base_[EI_CLASS] == ELFCLASS64 && ehdr()->e_shentsize == sizeof(Elf64_Shdr) &&
               in_bounds(ehdr()->e_shoff, size_t(ehdr()->e_shnum) * sizeof(Elf64_Shdr)) &&
               in_bounds(ehdr()->e_phoff, size_t(ehdr()->e_phnum) * sizeof(Elf64_Phdr));
    }
    const Elf64_Ehdr* ehdr() const { return reinterpret_cast<const Elf64_Ehdr*>(base_); }
    const Elf64_Shdr* section(size_t i) const {
        return reinterpret_cast<const Elf64_Shdr*>(base_ + ehdr()->e_shoff) + i;
    }
    const Elf64_Phdr* segment(size_t i) const {
        return reinterpret_cast<const Elf64_Phdr*>(base_ + ehdr()->e_phoff) + i;
    }
    const Elf64_Shdr* find(uint32_t type) const {
        for (size_t i = 0; i < ehdr()->e_shnum; ++i)
            if (section(i)->sh_type == type) return section(i);
        return nullptr;
    }
    template <typename T>
    std::vector<T> entries(const Elf64_Shdr* s) const {
        std::vector<T> out;
        if (!s || !in_bounds(s->sh_offset, s->sh_size)) return out;
        const T* p = reinterpret_cast<const T*>(base_ + s->sh_offset);
        out.assign(p, p + s->sh_size / sizeof(T));
        return out;
    }
    std::string string_at(const Elf64_Shdr* strtab, size_t offset) const {
        if (!strtab || !in_bounds(strtab->sh_offset, strtab->sh_size) || offset >= strtab->sh_size) return "<bad>";
        const char* s = reinterpret_cast<const char*>(base_ + strtab->sh_offset + offset);
        return std::string(s, strnlen(s, strtab->sh_size - offset));
    }
    const Elf64_Shdr* linked(const Elf64_Shdr* s) const {
        return s && s->sh_link < ehdr()->e_shnum ? section(s->sh_link) : nullptr;
    }

private:
    bool in_bounds(uint64_t off, uint64_t len) const { return off <= size_ && len <= size_ - off; }
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
};

class PamAbi : public ::testing::Test {
protected:
    ElfFile elf{PAM_ELEVATE_MODULE};
};

}  // namespace

TEST_F(PamAbi, NeedsOnlyLibpamAndLibc) {
    ASSERT_TRUE(elf.valid());
    const Elf64_Shdr* dynamic = elf.find(SHT_DYNAMIC);
    ASSERT_NE(dynamic, nullptr);
    std::set<std::string> needed;
    bool bind_now = false, textrel = false;
    for (const auto& d : elf.entries<Elf64_Dyn>(dynamic)) {
        if (d.d_tag == DT_NEEDED) needed.insert(elf.string_at(elf.linked(dynamic), d.d_un.d_val));
        if (d.d_tag == DT_FLAGS && (d.d_un.d_val & DF_BIND_NOW)) bind_now = true;
        if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_NOW)) bind_now = true;
        if (d.d_tag == DT_TEXTREL || (d.d_tag == DT_FLAGS && (d.d_un.d_val & DF_TEXTREL))) textrel = true;
    }
    EXPECT_EQ(needed, (std::set<std::string>{"libpam.so.0", "libc.so.6"}));
    EXPECT_TRUE(bind_now);
    EXPECT_FALSE(textrel);
}

TEST_F(PamAbi, ExportsOnlyTheEntryPointsAndImportsNoCxxRuntime) {
    ASSERT_TRUE(elf.valid());
    const Elf64_Shdr* dynsym = elf.find(SHT_DYNSYM);
    ASSERT_NE(dynsym, nullptr);
    std::set<std::string> exported;
    std::vector<std::string> cxx_imports;
    for (const auto& sym : elf.entries<Elf64_Sym>(dynsym)) {
        std::string name = elf.string_at(elf.linked(dynsym), sym.st_name);
        if (name.empty()) continue;
        int bind = ELF64_ST_BIND(sym.st_info);
        if (sym.st_shndx != SHN_UNDEF) {
            if (bind == STB_GLOBAL || bind == STB_WEAK) exported.insert(name);
            continue;
        }
        // __cxa_finalize is glibc's (crtstuff), not the C++ runtime's.
        bool cxx = name.rfind("_Z", 0) == 0 || name.rfind("__gxx_", 0) == 0 || name.rfind("_Unwind_", 0) == 0 ||
                   (name.rfind("__cxa_", 0) == 0 && name != "__cxa_finalize");
        if (cxx) cxx_imports.push_back(name);
    }
    EXPECT_EQ(exported, kEntryPoints);
    EXPECT_TRUE(cxx_imports.empty()) << cxx_imports.front();
}

TEST_F(PamAbi, NoThreadLocalStorage) {
    ASSERT_TRUE(elf.valid());
    for (size_t i = 0; i < elf.ehdr()->e_phnum; ++i) EXPECT_NE(elf.segment(i)->p_type, uint32_t(PT_TLS));
}

TEST_F(PamAbi, DlopenTwiceAndReopen) {
    for (int round = 0; round < 3; ++round) {
        void* a = dlopen(PAM_ELEVATE_MODULE, RTLD_NOW | RTLD_LOCAL);
        ASSERT_NE(a, nullptr) << dlerror();
        void* b = dlopen(PAM_ELEVATE_MODULE, RTLD_NOW | RTLD_LOCAL);
        ASSERT_NE(b, nullptr) << dlerror();
        EXPECT_EQ(a, b);
        for (const auto& name : kEntryPoints) EXPECT_NE(dlsym(a, name.c_str()), nullptr) << name;
        // Internal helpers are not reachable from outside.
        EXPECT_EQ(dlsym(a, "_ZN7elevate3pam8run_stepEP12pam_handle_tNS0_4StepEiiPPKc"), nullptr);
        EXPECT_EQ(dlclose(b), 0);
        EXPECT_EQ(dlclose(a), 0);
    }
}
