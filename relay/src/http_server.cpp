#include "http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <optional>

namespace hanko::relay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  HttpLimits limits;
  Handler handler;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> refused{0};
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work;

  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server) : m_stream(std::move(socket)), m_server(server) {
    boost::system::error_code ec;
    const auto ep = m_stream.socket().remote_endpoint(ec);
    if (!ec) m_client = ep.address().to_string();
  }
  ~Session() { --m_server.open; }

  void start() {
    asio::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    m_parser.emplace();
    m_parser->body_limit(m_server.limits.max_body);
    m_parser->header_limit(16 * 1024);
    m_stream.expires_after(std::chrono::seconds(30));
    http::async_read(m_stream, m_buffer, *m_parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      m_keep_alive = false;
      write(HttpResponse::text(413, "request body larger than " + std::to_string(m_server.limits.max_body) + " bytes\n"), 11);
      return;
    }
    if (ec) {
      m_keep_alive = false;
      write(HttpResponse::text(400, "malformed HTTP request: " + ec.message() + "\n"), 11);
      return;
    }
    auto& req = m_parser->get();
    m_keep_alive = req.keep_alive();
    const unsigned version = req.version();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.content_type = std::string(req[http::field::content_type]);
    r.if_modified_since = std::string(req[http::field::if_modified_since]);
    r.if_none_match = std::string(req[http::field::if_none_match]);
    r.body = std::move(req.body());
    r.client = m_client;
    const bool head = r.method == "HEAD";
    auto self = shared_from_this();
    try {
      m_server.handler(std::move(r), [self, version, head](HttpResponse response) {
        response.head_only = head;
        asio::post(self->m_stream.get_executor(), [self, version, response = std::move(response)]() mutable {
          self->write(std::move(response), version);
        });
      });
    } catch (const std::exception& e) {
      write(HttpResponse::text(500, std::string("internal error: ") + e.what() + "\n"), version);
    }
  }

  void write(HttpResponse response, unsigned version) {
    m_body = response.body ? response.body : std::make_shared<const std::string>();
    m_response.emplace();
    m_response->version(version);
    m_response->result(response.status);
    m_response->set(http::field::server, "hanko-relay");
    m_response->set(http::field::content_type, response.content_type);
    for (const auto& [k, v] : response.headers) m_response->set(k, v);
    m_response->keep_alive(m_keep_alive);
    if (response.head_only) {
      m_response->content_length(m_body->size());
      m_response->body() = http::span_body<const char>::value_type(m_body->data(), 0);
      m_head_sr.emplace(*m_response);
      m_head_sr->split(true);
      http::async_write_header(m_stream, *m_head_sr, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->after_write(ec);
      });
      return;
    }
    m_response->body() = http::span_body<const char>::value_type(m_body->data(), m_body->size());
    m_response->prepare_payload();
    http::async_write(m_stream, *m_response, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->after_write(ec);
    });
  }

  void after_write(beast::error_code ec) {
    m_head_sr.reset();
    m_response.reset();
    m_body.reset();
    if (ec || !m_keep_alive) {
      close();
      return;
    }
    read();
  }

  void close() {
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream m_stream;
  HttpServer::Impl& m_server;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  std::optional<http::response<http::span_body<const char>>> m_response;
  std::optional<http::response_serializer<http::span_body<const char>>> m_head_sr;
  std::shared_ptr<const std::string> m_body;
  std::string m_client;
  bool m_keep_alive = true;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (open.load() >= limits.max_connections) {
        ++refused;
        static const char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 24\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many open connections";
        boost::system::error_code ignored;
        asio::write(socket, asio::buffer(kBusy, sizeof kBusy - 2), ignored);
        socket.close(ignored);
      } else {
        ++open;
        std::make_shared<Session>(std::move(socket), *this)->start();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(const std::string& host, unsigned short port, HttpLimits limits, Handler handler)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->limits = limits;
  m_impl->handler = std::move(handler);
  const tcp::endpoint ep(asio::ip::make_address(host), port);
  m_impl->acceptor.open(ep.protocol());
  m_impl->acceptor.set_option(asio::socket_base::reuse_address(true));
  m_impl->acceptor.bind(ep);
  m_impl->acceptor.listen(asio::socket_base::max_listen_connections);
}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::port() const noexcept { return m_impl->acceptor.local_endpoint().port(); }
std::size_t HttpServer::open_connections() const noexcept { return m_impl->open.load(); }
std::uint64_t HttpServer::refused_connections() const noexcept { return m_impl->refused.load(); }

void HttpServer::start() {
  m_impl->work = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(m_impl->io.get_executor());
  m_impl->accept();
  for (std::size_t i = 0; i < m_impl->limits.threads; ++i) {
    m_impl->threads.emplace_back([this] {
      for (;;) {
        try {
          m_impl->io.run();
          return;
        } catch (const std::exception& e) {
          std::cerr << "hanko-relay: http: " << e.what() << "\n";
        }
      }
    });
  }
}

void HttpServer::stop() {
  if (m_impl->threads.empty()) return;
  asio::post(m_impl->io, [this] {
    boost::system::error_code ec;
    m_impl->acceptor.close(ec);
  });
  m_impl->work.reset();
  m_impl->io.stop();
  for (auto& t : m_impl->threads) t.join();
  m_impl->threads.clear();
}

}  // namespace hanko::relay
