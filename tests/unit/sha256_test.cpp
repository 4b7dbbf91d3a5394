// SHA-256 (src/util/sha256) against the FIPS 180-2 test vectors (appendix B).
#include "util/sha256.hpp"

#include <catch2/catch.hpp>
#include <string>

using luamig::Sha256;
using luamig::sha256_hex;

TEST_CASE("sha256: FIPS 180-2 vectors", "[unit]") {
  // B.1: one block
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // B.2: two blocks (the padding spills into a second block)
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // B.3: one million 'a'
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256: incremental updates of any split give the one-shot digest", "[unit]") {
  std::string text;
  for (int i = 0; i < 300; ++i) text += static_cast<char>('a' + i % 26);
  const auto whole = sha256_hex(text);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 127, 128, 299}) {
    Sha256 s;
    s.update(std::string_view(text).substr(0, split));
    s.update(std::string_view(text).substr(split));
    auto d = s.finish();
    std::string hex;
    for (auto b : d) {
      static const char* h = "0123456789abcdef";
      hex += h[b >> 4];
      hex += h[b & 15];
    }
    CHECK(hex == whole);
  }
  // Lengths around the 55/56-byte padding boundary
  CHECK(sha256_hex(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_hex(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}
