// Tests of the static file table: what is loaded (and refused) from a real directory, and
// the answers built for requests (types, index.html, redirects, ETag/304, HEAD, 404/405).
#include "http/static_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "http/request.h"

namespace wsa {
namespace {

namespace fs = std::filesystem;

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wsa_static_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& relative, const std::string& content) {
    const fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }

  std::string answer(std::string_view method, std::string_view path,
                     std::string_view if_none_match = {}, bool close = false) {
    http_request request;
    request.method = method;
    request.path = path;
    request.if_none_match = if_none_match;
    std::string out;
    const static_files::answer_body answer = files_.answer(request, close, out);
    status_ = answer.status;
    file_ = answer.file;
    out.append(answer.body);  // as a server sends it: head, then the file's shared body
    return out;
  }

  static std::string header(const std::string& response, const std::string& name) {
    const std::size_t at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos) {
      return {};
    }
    const std::size_t start = at + name.size() + 4;
    return response.substr(start, response.find("\r\n", start) - start);
  }
  static std::string body(const std::string& response) {
    return response.substr(response.find("\r\n\r\n") + 4);
  }

  std::string root_;
  static_files files_;
  int status_ = 0;
  std::size_t file_ = 0;
};

TEST_F(StaticFiles, ServesFilesWithTheirTypesAndIndexHtml) {
  write("index.html", "<h1>home</h1>");
  write("chat/index.html", "<p>chat</p>");
  write("chat/app.js", "export {};");
  write("lib/style.css", "p{}");
  write("data/x.json", "{}");
  write("img/logo.svg", "<svg/>");
  write("bin/blob.xyz", "??");
  write("a+b c.txt", "plus");
  std::string error;
  ASSERT_TRUE(files_.load(root_, error)) << error;
  EXPECT_EQ(files_.file_count(), 8u);
  EXPECT_EQ(body(answer("GET", "/a+b%20c.txt")), "plus");  // '+' is not a space in a path

  const std::string home = answer("GET", "/");
  EXPECT_EQ(status_, 200);
  EXPECT_TRUE(home.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(header(home, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(home, "Content-Length"), "13");
  EXPECT_EQ(header(home, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(home, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(home, "Connection"), "");
  EXPECT_EQ(body(home), "<h1>home</h1>");

  EXPECT_EQ(body(answer("GET", "/chat/")), "<p>chat</p>");
  const std::size_t chat = file_;
  EXPECT_EQ(body(answer("GET", "/chat/index.html")), "<p>chat</p>");
  EXPECT_EQ(file_, chat);  // one file, one body to share
  answer("GET", "/chat/app.js");
  EXPECT_NE(file_, chat);
  EXPECT_LT(file_, files_.file_count());
  EXPECT_EQ(header(answer("GET", "/chat/app.js"), "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(answer("GET", "/lib/style.css"), "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(answer("GET", "/data/x.json"), "Content-Type"), "application/json");
  EXPECT_EQ(header(answer("GET", "/img/logo.svg"), "Content-Type"), "image/svg+xml");
  EXPECT_EQ(header(answer("GET", "/bin/blob.xyz"), "Content-Type"), "application/octet-stream");
  EXPECT_EQ(header(answer("GET", "/chat/app.js", {}, true), "Connection"), "close");
}

TEST_F(StaticFiles, DirectoryWithoutSlashRedirectsAndNothingIsListed) {
  write("chat/index.html", "x");
  write("empty/readme.txt", "y");
  std::string error;
  ASSERT_TRUE(files_.load(root_, error)) << error;
  const std::string moved = answer("GET", "/chat");
  EXPECT_EQ(status_, 301);
  EXPECT_EQ(header(moved, "Location"), "/chat/");
  answer("GET", "/empty/");
  EXPECT_EQ(status_, 404);  // no index.html, and no listing either
  answer("GET", "/empty");
  EXPECT_EQ(status_, 404);
  answer("GET", "/");
  EXPECT_EQ(status_, 404);
}

TEST_F(StaticFiles, NothingOutsideTheTreeNorHiddenNorLinked) {
  write("site/ok.txt", "ok");
  write("site/.env", "SECRET=1");
  write("site/.git/config", "x");
  write("outside.txt", "secret");
  ASSERT_EQ(symlink((root_ + "/outside.txt").c_str(), (root_ + "/site/link.txt").c_str()), 0);
  std::string error;
  ASSERT_TRUE(files_.load(root_ + "/site", error)) << error;
  EXPECT_EQ(files_.file_count(), 1u);
  for (std::string_view path : {"/.env", "/.git/config", "/link.txt", "/../outside.txt",
                                "/%2e%2e/outside.txt", "/ok.txt/..", "//ok.txt", "/ok.txt%00",
                                "/%zz", "ok.txt", ""}) {
    answer("GET", path);
    EXPECT_EQ(status_, 404) << path;
  }
  EXPECT_EQ(body(answer("GET", "/ok.txt")), "ok");
  EXPECT_EQ(body(answer("GET", "/%6Fk.txt")), "ok");  // percent-encoded 'o'
  answer("GET", "/ok%2", {});
  EXPECT_EQ(status_, 404);
}

TEST_F(StaticFiles, EtagRevalidationHeadAndMethods) {
  write("a.txt", "alpha");
  std::string error;
  ASSERT_TRUE(files_.load(root_, error)) << error;
  const std::string full = answer("GET", "/a.txt");
  const std::string etag = header(full, "ETag");
  ASSERT_EQ(etag.size(), 34u);  // 32 hex digits in quotes
  EXPECT_EQ(etag.front(), '"');

  const std::string not_modified = answer("GET", "/a.txt", etag);
  EXPECT_EQ(status_, 304);
  EXPECT_EQ(header(not_modified, "ETag"), etag);
  EXPECT_TRUE(not_modified.ends_with("\r\n\r\n"));
  EXPECT_EQ(not_modified.find("Content-Length"), std::string::npos);
  answer("GET", "/a.txt", "\"other\", W/" + etag);
  EXPECT_EQ(status_, 304);
  answer("GET", "/a.txt", "*");
  EXPECT_EQ(status_, 304);
  answer("GET", "/a.txt", "\"other\"");
  EXPECT_EQ(status_, 200);

  const std::string head = answer("HEAD", "/a.txt");
  EXPECT_EQ(status_, 200);
  EXPECT_EQ(header(head, "Content-Length"), "5");
  EXPECT_EQ(body(head), "");

  const std::string refused = answer("POST", "/a.txt");
  EXPECT_EQ(status_, 405);
  EXPECT_EQ(header(refused, "Allow"), "GET, HEAD");
  answer("DELETE", "/missing");
  EXPECT_EQ(status_, 405);
}

TEST_F(StaticFiles, BoundsRefuseTheWholeTree) {
  write("a.txt", std::string(100, 'a'));
  write("b.txt", std::string(100, 'b'));
  write("d1/d2/d3/deep.txt", "d");
  std::string error;
  static_files::limits bounds;
  bounds.max_file_bytes = 99;
  EXPECT_FALSE(files_.load(root_, error, bounds));
  EXPECT_NE(error.find("a.txt is larger than 99 bytes"), std::string::npos) << error;
  EXPECT_EQ(files_.file_count(), 0u);

  bounds = {};
  bounds.max_total_bytes = 150;
  EXPECT_FALSE(files_.load(root_, error, bounds));
  EXPECT_NE(error.find("more than 150 bytes"), std::string::npos) << error;

  bounds = {};
  bounds.max_files = 2;
  EXPECT_FALSE(files_.load(root_, error, bounds));
  EXPECT_NE(error.find("more than 2 files"), std::string::npos) << error;

  bounds = {};
  bounds.max_depth = 2;
  EXPECT_FALSE(files_.load(root_, error, bounds));
  EXPECT_NE(error.find("deeper than 2"), std::string::npos) << error;

  EXPECT_FALSE(files_.load(root_ + "/a.txt", error));
  EXPECT_NE(error.find("not a directory"), std::string::npos) << error;
  EXPECT_TRUE(files_.load(root_, error)) << error;
  EXPECT_EQ(files_.file_count(), 3u);
  EXPECT_EQ(files_.total_bytes(), 201u);
}

TEST(static_files_types, ByExtensionIgnoringCase) {
  EXPECT_EQ(static_files::content_type("a/b/page.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(static_files::content_type("x.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(static_files::content_type("font.woff2"), "font/woff2");
  EXPECT_EQ(static_files::content_type("app.wasm"), "application/wasm");
  EXPECT_EQ(static_files::content_type("Makefile"), "application/octet-stream");
  EXPECT_EQ(static_files::content_type(".bashrc"), "application/octet-stream");
  EXPECT_EQ(static_files::content_type("dir.v2/file"), "application/octet-stream");
}

}  // namespace
}  // namespace wsa
