#include "config/text_proto.h"

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"

namespace deconfliction {
namespace {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Collects the dotted path of each field that differs.
class ChangedFields
    : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using Path =
      std::vector<google::protobuf::util::MessageDifferencer::SpecificField>;

  void ReportAdded(const google::protobuf::Message&,
                   const google::protobuf::Message&,
                   const Path& path) override {
    Add(path);
  }
  void ReportDeleted(const google::protobuf::Message&,
                     const google::protobuf::Message&,
                     const Path& path) override {
    Add(path);
  }
  void ReportModified(const google::protobuf::Message&,
                      const google::protobuf::Message&,
                      const Path& path) override {
    Add(path);
  }
  const std::set<std::string>& fields() const { return fields_; }

 private:
  void Add(const Path& path) {
    std::vector<std::string> names;
    for (const auto& specific : path) {
      if (specific.field == nullptr) break;  // unknown fields: none parsed
      names.push_back(specific.field->name());
    }
    fields_.insert(absl::StrJoin(names, "."));
  }
  std::set<std::string> fields_;
};

// Clears the field at dotted `path` in `message`, if it is there.
void ClearPath(absl::string_view path, google::protobuf::Message* message) {
  std::vector<absl::string_view> names = absl::StrSplit(path, '.');
  for (size_t i = 0; i < names.size(); ++i) {
    const google::protobuf::FieldDescriptor* field =
        message->GetDescriptor()->FindFieldByName(std::string(names[i]));
    if (field == nullptr) return;
    const google::protobuf::Reflection* reflection = message->GetReflection();
    if (i + 1 == names.size()) return reflection->ClearField(message, field);
    if (field->is_repeated() ||
        field->cpp_type() !=
            google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      return;
    }
    message = reflection->MutableMessage(message, field);
  }
}

}  // namespace

absl::Status CheckOnlyReloadableFieldsChanged(
    const google::protobuf::Message& in_force,
    const google::protobuf::Message& proposed,
    const std::vector<std::string>& reloadable) {
  std::unique_ptr<google::protobuf::Message> before(in_force.New());
  std::unique_ptr<google::protobuf::Message> after(proposed.New());
  before->CopyFrom(in_force);
  after->CopyFrom(proposed);
  for (const std::string& path : reloadable) {
    ClearPath(path, before.get());
    ClearPath(path, after.get());
  }
  ChangedFields changed;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesTo(&changed);
  if (differencer.Compare(*before, *after)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      absl::StrJoin(changed.fields(), ", "),
      changed.fields().size() == 1 ? " changes" : " change",
      " only with a restart (reloadable: ", absl::StrJoin(reloadable, ", "),
      ")"));
}

absl::Status LoadTextProto(const std::string& path,
                           google::protobuf::Message* message) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  FirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), message)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", errors.error()));
  }
  return absl::OkStatus();
}

}  // namespace deconfliction
