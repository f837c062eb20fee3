#include "base/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace deconfliction {

absl::Status CheckOwnerOnly(const std::string& path, absl::string_view what) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a readable regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", what, " must be readable by its owner only (chmod 600)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadOwnerOnlyFile(const std::string& path,
                                              absl::string_view what) {
  if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (absl::Status s = CheckOwnerOnly(path, what); !s.ok()) return s;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": unreadable"));
  }
  return contents.str();
}

absl::Status WriteKeyFile(const std::string& path, const std::string& text,
                          unsigned mode) {
  if (access(path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, ": exists; key files are never overwritten"));
  }
  const std::string temp = path + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      static_cast<mode_t>(mode));
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", temp));
  }
  const bool written = fchmod(fd, static_cast<mode_t>(mode)) == 0 &&
                       write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       fsync(fd) == 0;
  close(fd);
  if (!written || std::rename(temp.c_str(), path.c_str()) != 0) {
    unlink(temp.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace deconfliction
