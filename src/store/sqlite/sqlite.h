#pragma once
#include <memory>
#include <string>

#include "store/store.h"

namespace tbpay {

// The SQLite stores on one database file (created, with its folder, on first use).
std::unique_ptr<Database> open_sqlite(std::string path);

}  // namespace tbpay
