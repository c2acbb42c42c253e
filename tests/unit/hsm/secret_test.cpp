#include "hanko/hsm/secret.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "hanko/hsm/error.h"

namespace hanko::hsm {
namespace {

// A pipe whose write end is filled and closed at construction; read() sees the data then EOF.
class Pipe {
 public:
  explicit Pipe(const std::string& content) {
    if (::pipe(m_fds) != 0) throw std::runtime_error("pipe");
    EXPECT_EQ(::write(m_fds[1], content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    ::close(m_fds[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() { ::close(m_fds[0]); }
  int fd() const { return m_fds[0]; }

 private:
  int m_fds[2]{-1, -1};
};

std::string text(const Secret& secret) { return to_string(secret.view()); }

TEST(ReadSecretFromFd, StripsNewline) {
  const Pipe pipe("1234\n");
  EXPECT_EQ(text(read_secret_from_fd(pipe.fd())), "1234");
}

TEST(ReadSecretFromFd, StripsCarriageReturnNewline) {
  const Pipe pipe("1234\r\n");
  EXPECT_EQ(text(read_secret_from_fd(pipe.fd())), "1234");
}

TEST(ReadSecretFromFd, AcceptsEofWithoutNewline) {
  const Pipe pipe("pin with spaces ");
  EXPECT_EQ(text(read_secret_from_fd(pipe.fd())), "pin with spaces ");
}

TEST(ReadSecretFromFd, LeavesTheNextLineForTheNextRead) {
  const Pipe pipe("so-pin\nuser-pin\n");
  EXPECT_EQ(text(read_secret_from_fd(pipe.fd())), "so-pin");
  EXPECT_EQ(text(read_secret_from_fd(pipe.fd())), "user-pin");
}

TEST(ReadSecretFromFd, RefusesEmpty) {
  for (const char* content : {"", "\n", "\r\n"}) {
    const Pipe pipe(content);
    try {
      read_secret_from_fd(pipe.fd());
      ADD_FAILURE() << "empty secret accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.reason(), Reason::SecretInput);
      EXPECT_NE(std::string(error.what()).find("is empty"), std::string::npos) << error.what();
    }
  }
}

TEST(ReadSecretFromFd, AcceptsTheLimitAndRefusesMore) {
  const Pipe at_limit(std::string(kMaxSecretSize, 'x') + "\n");
  EXPECT_EQ(read_secret_from_fd(at_limit.fd()).size(), kMaxSecretSize);
  const Pipe over_limit(std::string(kMaxSecretSize + 1, 'x'));
  EXPECT_THROW(read_secret_from_fd(over_limit.fd()), Error);
}

TEST(ReadSecretFromFd, ReportsABadDescriptor) {
  try {
    read_secret_from_fd(-1);
    ADD_FAILURE() << "read from fd -1 succeeded";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("file descriptor -1"), std::string::npos);
  }
}

TEST(PromptSecret, WithoutTerminalSaysWhatToDo) {
  const int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty >= 0) {
    ::close(tty);
    GTEST_SKIP() << "a terminal is attached; prompting would wait for input";
  }
  try {
    prompt_secret("User PIN: ");
    ADD_FAILURE() << "prompt without a terminal succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.reason(), Reason::SecretInput);
    EXPECT_NE(std::string(error.what()).find("pass the secret through a file descriptor"),
              std::string::npos)
        << error.what();
  }
}

TEST(Secret, MoveLeavesSourceEmpty) {
  Secret a(std::string_view("1234"));
  Secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(text(b), "1234");
  Secret c(std::string_view("other"));
  c = std::move(b);
  EXPECT_EQ(text(c), "1234");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, IsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<Secret>);
  static_assert(!std::is_copy_assignable_v<Secret>);
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<std::string_view, Secret>);
}

}  // namespace
}  // namespace hanko::hsm
