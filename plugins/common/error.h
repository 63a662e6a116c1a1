// One error type for everything an op rejects. Adapters catch it at the ABI boundary
// and report it through TensorRT's logger; the Python module turns it into ValueError.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace pdk {

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, const char* file, int line) : std::runtime_error(what), file_(file), line_(line) {}
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  const char* file_;
  int line_;
};

namespace detail {
inline void appendAll(std::ostringstream&) {}
template <class T, class... Rest>
void appendAll(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  appendAll(os, rest...);
}
}  // namespace detail

template <class... Parts>
[[noreturn]] void fail(const char* file, int line, const Parts&... parts) {
  std::ostringstream os;
  detail::appendAll(os, parts...);
  throw Error(os.str(), file, line);
}

}  // namespace pdk

#define PDK_FAIL(...) ::pdk::fail(__FILE__, __LINE__, __VA_ARGS__)
#define PDK_CHECK(cond, ...)            \
  do {                                  \
    if (!(cond)) PDK_FAIL(__VA_ARGS__); \
  } while (0)
