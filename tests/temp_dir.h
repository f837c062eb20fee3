// A fresh directory per test, removed with everything in it at the end, so
// that parallel test runs never share files.
#ifndef DECONFLICTION_TESTS_TEMP_DIR_H_
#define DECONFLICTION_TESTS_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace deconfliction {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");  // set by Bazel
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/deconfliction.XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEMP_DIR_H_
