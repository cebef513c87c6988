#include "app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seatflow::app {
namespace {

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
  ConfigSources sources;
  sources.overrides = {{"inbox.retention", "10m"}};
  EXPECT_THROW(settings_from(Config::load(config_schema(), sources)), ConfigError);
  sources.overrides = {{"inbox.retention", "1h"}};
  EXPECT_EQ(settings_from(Config::load(config_schema(), sources)).bus.inbox_retention,
            std::chrono::hours(1));
}

TEST(Settings, ANotifyIntervalLongerThanASecondIsRefused) {
  EXPECT_EQ(settings_from(Config::load(config_schema(), {})).database.notify_interval,
            std::chrono::milliseconds(20));
  ConfigSources sources;
  sources.overrides = {{"database.notify_interval", "2s"}};
  EXPECT_THROW(settings_from(Config::load(config_schema(), sources)), ConfigError);
  sources.overrides = {{"database.notify_interval", "0s"}};
  EXPECT_EQ(settings_from(Config::load(config_schema(), sources)).database.notify_interval,
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
