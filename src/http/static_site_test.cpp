#include "http/static_site.hpp"

#include <fstream>

#include <gtest/gtest.h>

namespace seatflow::http {
namespace {

namespace fs = std::filesystem;

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("seatflow-site-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "assets");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(root_ / name, std::ios::binary) << text;
  }

  static Request get(std::string path) {
    Request r;
    r.method = Method::kGet;
    r.path = std::move(path);
    return r;
  }

  fs::path root_;
};

TEST_F(StaticSiteTest, ServesFilesAndSendsClientRoutesToIndex) {
  write("index.html", "<!doctype html><title>Seatflow</title>");
  write("assets/app-1a2b.js", "console.log(1)");
  auto site = StaticSite::load(root_);
  ASSERT_TRUE(site) << site.error().to_string();
  EXPECT_EQ((*site)->file_count(), 2u);

  Response index = (*site)->serve(get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.headers.get("Cache-Control"), "no-cache");

  Response script = (*site)->serve(get("/assets/app-1a2b.js"));
  EXPECT_EQ(script.body, "console.log(1)");
  EXPECT_EQ(script.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.headers.get("Cache-Control"), "public, max-age=31536000, immutable");

  EXPECT_EQ((*site)->serve(get("/events/42")).body, index.body) << "a client-side route";
  EXPECT_EQ((*site)->serve(get("/assets/missing.js")).status, 404);

  Request again = get("/");
  again.headers.set("If-None-Match", std::string(*index.headers.get("ETag")));
  Response not_modified = (*site)->serve(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  Request post = get("/");
  post.method = Method::kPost;
  EXPECT_EQ((*site)->serve(post).status, 405);
}

TEST_F(StaticSiteTest, RefusesAFolderWithoutIndexOrTooBig) {
  write("app.js", "x");
  auto missing = StaticSite::load(root_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  write("index.html", std::string(100, 'x'));
  EXPECT_FALSE(StaticSite::load(root_, 50));
}

TEST(ContentType, ByExtension) {
  EXPECT_EQ(content_type_for("a/b.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
}

}  // namespace
}  // namespace seatflow::http
