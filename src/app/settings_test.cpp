#include "app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seatflow::app {
namespace {

// The settings of the defaults with `key` set to `value`, as --set sets it.
Settings settings_with(const std::string& key, const std::string& value) {
  ConfigSources sources;
  sources.overrides = {{key, value}};
  return settings_from(Config::load(config_schema(), sources));
}

TEST(Settings, DefaultsAreEmbeddedSqlite) {
  const Settings s = settings_from(Config::load(config_schema(), {}));
  EXPECT_EQ(s.data_dir, "./data");
  EXPECT_EQ(s.database.backend, "sqlite");
  EXPECT_EQ(s.database.pool_size, 8);
  EXPECT_EQ(s.database.sqlite_synchronous, "NORMAL");
  EXPECT_EQ(s.log.level, log::Level::kInfo);
  EXPECT_EQ(s.log.format, log::Format::kText);
}

TEST(Settings, PostgresNeedsAUrl) {
  ConfigSources sources;
  sources.overrides = {{"database.backend", "postgres"}};
  const Config config = Config::load(config_schema(), sources);
  EXPECT_THROW(settings_from(config), ConfigError);
}

TEST(Settings, AnInboxRetentionShorterThanAnHourIsRefused) {
  EXPECT_THROW(settings_with("inbox.retention", "10m"), ConfigError);
  EXPECT_EQ(settings_with("inbox.retention", "1h").bus.inbox_retention, std::chrono::hours(1));
}

TEST(Settings, ANotifyIntervalLongerThanASecondIsRefused) {
  EXPECT_EQ(settings_from(Config::load(config_schema(), {})).database.notify_interval,
            std::chrono::milliseconds(20));
  EXPECT_THROW(settings_with("database.notify_interval", "2s"), ConfigError);
  EXPECT_EQ(settings_with("database.notify_interval", "0s").database.notify_interval,
            std::chrono::milliseconds(0));
}

TEST(Settings, TheCpuSchedulingPolicyIsAutoUnlessToldOtherwise) {
  EXPECT_EQ(settings_from(Config::load(config_schema(), {})).cpu_scheduling, "auto");
  ConfigSources sources;
  sources.environment = {{"SEATFLOW_PROCESS_CPU_SCHEDULING", "unchanged"}};
  EXPECT_EQ(settings_from(Config::load(config_schema(), sources)).cpu_scheduling, "unchanged");
  sources.environment = {{"SEATFLOW_PROCESS_CPU_SCHEDULING", "fifo"}};
  EXPECT_THROW(Config::load(config_schema(), sources), ConfigError);
}

TEST(Settings, ARetiredKeyIsAcceptedWithAWarning) {
  EXPECT_THAT(settings_from(Config::load(config_schema(), {})).warnings, ::testing::IsEmpty());
  ConfigSources sources;
  sources.environment = {{"SEATFLOW_OUTBOX_RETENTION", "48h"}};
  const Settings s = settings_from(Config::load(config_schema(), sources));
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_THAT(s.warnings[0], ::testing::HasSubstr("'outbox.retention' is retired and ignored"));
}

TEST(Settings, EveryKeyHasHelpAndAValidDefault) {
  for (const auto& key : config_schema()) EXPECT_FALSE(key.help.empty()) << key.key;
  EXPECT_NO_THROW(Config::load(config_schema(), {}));
}

}  // namespace
}  // namespace seatflow::app
