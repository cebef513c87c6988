#include "core/config.hpp"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seatflow {
namespace {

using ::testing::HasSubstr;

ConfigSchema test_schema() {
  using T = ConfigType;
  return {
      {"data_dir", T::kString, "./data", "data folder"},
      {"http.port", T::kInteger, "8080", "port", {}, 0, 65535},
      {"http.request_timeout", T::kDuration, "30s", "timeout"},
      {"trace.conformance_route", T::kBoolean, "false", "route"},
      {"trace.sampler_ratio", T::kDouble, "1.0", "ratio"},
      {"log.format", T::kString, "text", "format", {"text", "json"}},
  };
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string write_file(const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("seatflow_config_test_" + std::to_string(::getpid()) + "_" +
                       std::to_string(counter_++) + ".toml");
    std::ofstream(path) << text;
    files_.push_back(path);
    return path.string();
  }
  void TearDown() override {
    for (const auto& f : files_) std::filesystem::remove(f);
  }

  // The one-line message of the ConfigError that loading throws.
  std::string load_error(const ConfigSources& sources) {
    try {
      Config::load(test_schema(), sources);
    } catch (const ConfigError& e) {
      std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << "message must be one line";
      return message;
    }
    ADD_FAILURE() << "expected a ConfigError";
    return "";
  }

  int counter_ = 0;
  std::vector<std::filesystem::path> files_;
};

TEST_F(ConfigTest, DefaultsApplyWithoutSources) {
  const Config c = Config::load(test_schema(), {});
  EXPECT_EQ(c.get_string("data_dir"), "./data");
  EXPECT_EQ(c.get_int("http.port"), 8080);
  EXPECT_EQ(c.get_duration("http.request_timeout"), std::chrono::seconds(30));
  EXPECT_FALSE(c.get_bool("trace.conformance_route"));
  EXPECT_DOUBLE_EQ(c.get_double("trace.sampler_ratio"), 1.0);
  EXPECT_EQ(c.source_of("http.port"), "default");
}

TEST_F(ConfigTest, FileOverridesDefaultsEnvOverridesFileFlagsOverrideEnv) {
  ConfigSources sources;
  sources.file = write_file(
      "data_dir = \"/var/seatflow\"\n"
      "[http]\nport = 9000\nrequest_timeout = \"250ms\"\n"
      "[trace]\nconformance_route = true\nsampler_ratio = 0.25\n");
  Config c = Config::load(test_schema(), sources);
  EXPECT_EQ(c.get_string("data_dir"), "/var/seatflow");
  EXPECT_EQ(c.get_int("http.port"), 9000);
  EXPECT_EQ(c.get_duration("http.request_timeout"), std::chrono::milliseconds(250));
  EXPECT_TRUE(c.get_bool("trace.conformance_route"));
  EXPECT_EQ(c.source_of("http.port"), "file");

  sources.environment["SEATFLOW_HTTP_PORT"] = "9100";
  sources.environment["SEATFLOW_TRACE_CONFORMANCE_ROUTE"] = "false";
  c = Config::load(test_schema(), sources);
  EXPECT_EQ(c.get_int("http.port"), 9100);
  EXPECT_FALSE(c.get_bool("trace.conformance_route"));
  EXPECT_EQ(c.source_of("http.port"), "env");

  sources.overrides.emplace_back("http.port", "9200");
  c = Config::load(test_schema(), sources);
  EXPECT_EQ(c.get_int("http.port"), 9200);
  EXPECT_EQ(c.source_of("http.port"), "flag");
  EXPECT_EQ(c.get_string("data_dir"), "/var/seatflow");  // untouched layers stay
}

TEST_F(ConfigTest, DottedKeysInTomlAreAccepted) {
  ConfigSources sources;
  sources.file = write_file("http.port = 7000\n");
  EXPECT_EQ(Config::load(test_schema(), sources).get_int("http.port"), 7000);
}

TEST_F(ConfigTest, UnknownKeyInFileIsNamed) {
  ConfigSources sources;
  sources.file = write_file("[http]\nprot = 80\n");
  EXPECT_THAT(load_error(sources), HasSubstr("unknown config key 'http.prot'"));
}

TEST_F(ConfigTest, UnknownTopLevelTableIsNamed) {
  ConfigSources sources;
  sources.file = write_file("[htp]\nport = 80\n");
  EXPECT_THAT(load_error(sources), HasSubstr("unknown config key 'htp.port'"));
}

TEST_F(ConfigTest, WrongTypeInFileIsNamed) {
  ConfigSources sources;
  sources.file = write_file("[http]\nport = \"eighty\"\n");
  const std::string message = load_error(sources);
  EXPECT_THAT(message, HasSubstr("config key 'http.port'"));
  EXPECT_THAT(message, HasSubstr("must be an integer"));
}

TEST_F(ConfigTest, TableWhereAValueBelongsIsAWrongType) {
  ConfigSources sources;
  sources.file = write_file("[data_dir]\nx = 1\n");
  EXPECT_THAT(load_error(sources), HasSubstr("config key 'data_dir'"));
}

TEST_F(ConfigTest, MissingFileIsNamed) {
  ConfigSources sources;
  sources.file = "/nonexistent/seatflow.toml";
  EXPECT_THAT(load_error(sources), HasSubstr("config file '/nonexistent/seatflow.toml' not found"));
}

TEST_F(ConfigTest, InvalidTomlSaysWhere) {
  ConfigSources sources;
  sources.file = write_file("[http\nport = 1\n");
  EXPECT_THAT(load_error(sources), HasSubstr("is not valid TOML (line 1"));
}

TEST_F(ConfigTest, WrongTypeInEnvironmentNamesKeyAndVariable) {
  ConfigSources sources;
  sources.environment["SEATFLOW_HTTP_PORT"] = "abc";
  const std::string message = load_error(sources);
  EXPECT_THAT(message, HasSubstr("'http.port'"));
  EXPECT_THAT(message, HasSubstr("SEATFLOW_HTTP_PORT"));
}

TEST_F(ConfigTest, OutOfRangeAndBadChoiceAreRejected) {
  ConfigSources sources;
  sources.overrides.emplace_back("http.port", "70000");
  EXPECT_THAT(load_error(sources), HasSubstr("'http.port' from flags must be between 0 and 65535"));
  sources.overrides = {{"log.format", "xml"}};
  EXPECT_THAT(load_error(sources), HasSubstr("must be one of text, json"));
}

TEST_F(ConfigTest, UnknownFlagKeyIsNamed) {
  ConfigSources sources;
  sources.overrides.emplace_back("http.prot", "1");
  EXPECT_THAT(load_error(sources), HasSubstr("unknown config key 'http.prot'"));
}

TEST_F(ConfigTest, BadDurationIsRejected) {
  ConfigSources sources;
  sources.environment["SEATFLOW_HTTP_REQUEST_TIMEOUT"] = "30";
  EXPECT_THAT(load_error(sources), HasSubstr("must be a duration"));
}

TEST(ConfigNames, EnvironmentNameUppercasesAndReplacesDots) {
  EXPECT_EQ(Config::environment_name("trace.conformance_route"),
            "SEATFLOW_TRACE_CONFORMANCE_ROUTE");
}

TEST(Durations, ParseAndFormat) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(parse_duration("2h"), std::chrono::hours(2));
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_EQ(format_duration(std::chrono::minutes(10)), "10m");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
}

}  // namespace
}  // namespace seatflow
