# iodeep_set_warnings(<target>): the project's warning flags; -Werror when IODEEP_WERROR is ON.
function(iodeep_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wconversion -Wsign-conversion
                                           -Wimplicit-fallthrough)
  # GCC 12 reports -Wrestrict false positives inside libstdc++'s std::string operator+ at -O2/-O3
  # (GCC bug 105329); keep the warning on other compilers.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(IODEEP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# iodeep_module(<name> SOURCES ...): library iodeep_<name> with ALIAS iodeep::<name>,
# public headers in <name>/include.
function(iodeep_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(iodeep_${name} STATIC ${ARG_SOURCES})
  add_library(iodeep::${name} ALIAS iodeep_${name})
  target_include_directories(iodeep_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>)
  target_compile_features(iodeep_${name} PUBLIC cxx_std_20)
  set_target_properties(iodeep_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  iodeep_set_warnings(iodeep_${name})
endfunction()
