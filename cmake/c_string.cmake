# jk_c_string(VAR TEXT): VAR = TEXT as the body of a C string literal, one source line per
# text line (the caller adds the outer quotes). UTF-8 bytes pass through unchanged.
function(jk_c_string var text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\t" "\\t" text "${text}")
  string(REPLACE "\r" "\\r" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()
