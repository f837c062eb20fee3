// Reading configuration files written in protobuf text format.
#ifndef DECONFLICTION_CONFIG_TEXT_PROTO_H_
#define DECONFLICTION_CONFIG_TEXT_PROTO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace deconfliction {

// Parses the file at `path` into `message`. FAILED_PRECONDITION when the file
// cannot be read; INVALID_ARGUMENT with `path:line:column: reason` for a
// syntax error or an unknown field.
absl::Status LoadTextProto(const std::string& path,
                           google::protobuf::Message* message);

// For a reload: OK when `proposed` differs from `in_force` (the same message
// type) only in the fields `reloadable` lists, as dotted paths ("nodes",
// "limits.node_timeout_ms"); else FAILED_PRECONDITION naming each field
// that changes only with a restart.
absl::Status CheckOnlyReloadableFieldsChanged(
    const google::protobuf::Message& in_force,
    const google::protobuf::Message& proposed,
    const std::vector<std::string>& reloadable);

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_TEXT_PROTO_H_
