// Prometheus text format 0.0.4 parsed back as a scraper reads it, for tests
// of what the servers expose.
#ifndef DECONFLICTION_TESTS_EXPOSITION_H_
#define DECONFLICTION_TESTS_EXPOSITION_H_

#include <httplib.h>

#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace deconfliction {

// A parsed exposition: each sample's value by its full series name
// (name{labels}), and each family's TYPE.
struct Parsed {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> malformed;
};

// Parses Prometheus text format 0.0.4 as a scraper reads it: comments
// (HELP, TYPE), then samples `name{label="value",...} value`.
inline Parsed Parse(const std::string& text) {
  static const std::regex kSample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf))re");
  static const std::regex kHelp(R"re(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)re");
  static const std::regex kType(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))re");
  Parsed parsed;
  std::istringstream lines(text);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, kType)) {
      parsed.types[match[1]] = match[2];
    } else if (std::regex_match(line, kHelp)) {
      continue;
    } else if (std::regex_match(line, match, kSample)) {
      const std::string value = match[match.size() - 1];
      parsed.samples[line.substr(0, line.rfind(' '))] = std::stod(value);
    } else {
      parsed.malformed.push_back(line);
    }
  }
  return parsed;
}

// Scrapes http://127.0.0.1:`port`/metrics and parses it; nullopt when it
// does not answer 200 within 5 s.
inline std::optional<Parsed> Scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  httplib::Result got = client.Get("/metrics");
  if (!got || got->status != 200) return std::nullopt;
  return Parse(got->body);
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_EXPOSITION_H_
