#include "identifiers/jurisdictions.h"

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/untrusted_text.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace deconfliction {
namespace {

// Suggestions shown at most.
constexpr size_t kMaxSuggestions = 5;

struct Tables {
  absl::flat_hash_set<std::string> countries;
  // Subdivision code -> name.
  absl::flat_hash_map<std::string, std::string> subdivisions;
  // The part after '-' -> the subdivisions that end in it ("ON" -> CA-ON).
  std::map<std::string, std::vector<std::string>> by_suffix;
};

// The entries of `list_name` in the iso-codes file `file`.
absl::StatusOr<std::vector<google::protobuf::Struct>> ReadEntries(
    const std::string& file, const std::string& list_name) {
  const std::string path = absl::StrCat(kIsoCodesDir, "/", file);
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path, " (install Debian's iso-codes package)"));
  }
  const std::string json((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  google::protobuf::Struct root;
  if (!google::protobuf::util::JsonStringToMessage(json, &root).ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not JSON"));
  }
  auto list = root.fields().find(list_name);
  if (list == root.fields().end() || !list->second.has_list_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has no \"", list_name, "\" list"));
  }
  std::vector<google::protobuf::Struct> entries;
  entries.reserve(list->second.list_value().values_size());
  for (const google::protobuf::Value& value :
       list->second.list_value().values()) {
    if (value.has_struct_value()) entries.push_back(value.struct_value());
  }
  return entries;
}

std::string Field(const google::protobuf::Struct& entry,
                  const std::string& name) {
  auto field = entry.fields().find(name);
  return field == entry.fields().end() ? "" : field->second.string_value();
}

absl::StatusOr<Tables> ReadTables() {
  Tables tables;
  absl::StatusOr<std::vector<google::protobuf::Struct>> countries =
      ReadEntries("iso_3166-1.json", "3166-1");
  if (!countries.ok()) return countries.status();
  for (const auto& country : *countries) {
    tables.countries.insert(Field(country, "alpha_2"));
  }
  absl::StatusOr<std::vector<google::protobuf::Struct>> subdivisions =
      ReadEntries("iso_3166-2.json", "3166-2");
  if (!subdivisions.ok()) return subdivisions.status();
  for (const auto& subdivision : *subdivisions) {
    const std::string code = Field(subdivision, "code");
    const size_t dash = code.find('-');
    if (dash == std::string::npos) continue;
    tables.subdivisions[code] = Field(subdivision, "name");
    tables.by_suffix[code.substr(dash + 1)].push_back(code);
  }
  if (tables.countries.empty() || tables.subdivisions.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kIsoCodesDir, " holds no ISO 3166 codes"));
  }
  return tables;
}

const absl::StatusOr<Tables>& IsoTables() {
  static const auto* tables = new absl::StatusOr<Tables>(ReadTables());
  return *tables;
}

std::string Named(const Tables& tables, const std::string& code) {
  return absl::StrCat(code, " (", tables.subdivisions.at(code), ")");
}

}  // namespace

absl::Status CheckJurisdictionTables() { return IsoTables().status(); }

absl::Status CheckJurisdiction(absl::string_view code) {
  const absl::StatusOr<Tables>& tables = IsoTables();
  if (!tables.ok()) return tables.status();
  const std::string key(code);
  if (tables->countries.contains(key) || tables->subdivisions.contains(key)) {
    return absl::OkStatus();
  }
  std::vector<std::string> suggestions;
  const size_t dash = key.find('-');
  if (dash == std::string::npos) {
    // A subdivision written without its country: "ON" for "CA-ON".
    auto found = tables->by_suffix.find(key);
    if (found != tables->by_suffix.end()) {
      for (const std::string& full : found->second) {
        if (suggestions.size() == kMaxSuggestions) break;
        suggestions.push_back(Named(*tables, full));
      }
    }
  } else if (tables->countries.contains(key.substr(0, dash))) {
    // A subdivision the country does not have: its subdivisions that start
    // the same way.
    const std::string start = key.substr(0, dash + 2);
    for (const auto& [full, name] : tables->subdivisions) {
      if (full.rfind(start, 0) == 0 && suggestions.size() < kMaxSuggestions) {
        suggestions.push_back(Named(*tables, full));
      }
    }
  }
  std::string message = absl::StrCat(
      "jurisdiction \"", EchoForError(code),
      "\" is not an ISO 3166-1 country or ISO 3166-2 subdivision code");
  if (!suggestions.empty()) {
    absl::StrAppend(&message, "; did you mean ",
                    absl::StrJoin(suggestions, ", "), "?");
  } else {
    absl::StrAppend(&message, " (e.g. \"GB\", \"CA-ON\", \"US-NY\")");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace deconfliction
