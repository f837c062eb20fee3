// Any message of the wire contract or the audit trail as one line of JSON,
// in protobuf's JSON mapping with the field names of the .proto files and
// every field printed: what the CLI's --json and deconflict-audit write.
#ifndef DECONFLICTION_API_JSON_LINE_H_
#define DECONFLICTION_API_JSON_LINE_H_

#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace deconfliction {

inline std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Cannot fail for a message of a generated type.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_API_JSON_LINE_H_
