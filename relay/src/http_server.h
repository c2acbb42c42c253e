#pragma once
// The relay's HTTP/1.1 server (Boost.Beast over Asio): intake API, repository files, OCSP and
// metrics all arrive here. It binds to loopback or a private address; TLS is terminated in front
// of it (see the README) because the request items are signed end to end anyway.
// Limits: request body size (413), header size, open connections (503 and close), idle timeout.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hanko::relay {

struct HttpRequest {
  std::string method;
  std::string target;
  std::string content_type;
  std::string if_modified_since;
  std::string if_none_match;
  std::string body;
  std::string client;  // peer address, for rate limits
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::shared_ptr<const std::string> body;  // shared: repository files are served without copies
  std::vector<std::pair<std::string, std::string>> headers;
  bool head_only = false;

  static HttpResponse text(unsigned status, std::string body, std::string type = "text/plain; charset=utf-8") {
    HttpResponse r;
    r.status = status;
    r.content_type = std::move(type);
    r.body = std::make_shared<const std::string>(std::move(body));
    return r;
  }
};

using Respond = std::function<void(HttpResponse)>;
// Called on a server thread; may answer later from any thread (intake answers after the commit).
using Handler = std::function<void(HttpRequest&&, Respond)>;

struct HttpLimits {
  std::size_t max_body = 64 * 1024;
  std::size_t max_connections = 512;
  std::size_t threads = 2;
};

class HttpServer {
 public:
  HttpServer(const std::string& host, unsigned short port, HttpLimits limits, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  unsigned short port() const noexcept;
  void start();
  void stop();
  std::size_t open_connections() const noexcept;
  std::uint64_t refused_connections() const noexcept;

  struct Impl;  // public so the connection class in the .cpp can reach it

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace hanko::relay
