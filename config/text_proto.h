// Reading configuration files written in protobuf text format.
#ifndef DECONFLICTION_CONFIG_TEXT_PROTO_H_
#define DECONFLICTION_CONFIG_TEXT_PROTO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace deconfliction {

// Parses the file at `path` into `message`. FAILED_PRECONDITION when the file
// cannot be read; INVALID_ARGUMENT with `path:line:column: reason` for a
// syntax error or an unknown field.
absl::Status LoadTextProto(const std::string& path,
                           google::protobuf::Message* message);

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_TEXT_PROTO_H_
