#pragma once
// SHA-256 (FIPS 180-4), for revision checksums and the history chain. No dependency: libcrypto is not linked.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace luamig {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // The 32-byte digest. REQUIRES: called once; the object is spent afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// Lower-case hex of the digest of `data` (64 characters).
std::string sha256_hex(std::string_view data);
}  // namespace luamig
