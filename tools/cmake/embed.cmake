# Makes a C++ header holding a file's text as a string (cmake -P):
#   -DIN=file -DOUT=header -DNAME=kIdentifier
file(READ "${IN}" content)
string(FIND "${content}" ")SIMRUN_EMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} holds the raw string's delimiter")
endif()
file(WRITE "${OUT}.tmp" "// Made from ${IN} at build time: do not edit.\n#pragma once\ninline constexpr const char ${NAME}[] = R\"SIMRUN_EMBED(${content})SIMRUN_EMBED\";\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
