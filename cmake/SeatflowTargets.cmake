# Helpers that give every project target the same warnings and layout.

set(SEATFLOW_WARNINGS -Wall -Wextra -Werror -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
    -Wformat=2 -Wimplicit-fallthrough
    # Settings structs are filled with designated initializers that leave defaults.
    -Wno-missing-field-initializers)

# seatflow_library(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...])
# Declares the component target seatflow_<NAME>. Headers are included as
# "<component>/<file>.hpp" relative to src/.
function(seatflow_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(seatflow_${name} STATIC)
  target_sources(seatflow_${name} PRIVATE ${ARG_SOURCES})
  target_include_directories(seatflow_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(seatflow_${name} PRIVATE ${SEATFLOW_WARNINGS})
  target_link_libraries(seatflow_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# seatflow_test(NAME SOURCES ... DEPS ... [LABEL label])
# A GoogleTest executable registered with ctest, one ctest entry per test case.
function(seatflow_test name)
  if(NOT SEATFLOW_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${SEATFLOW_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  include(GoogleTest)
  # One label per binary: gtest_discover_tests cannot pass a list through.
  set(label unit)
  if(ARG_LABEL)
    set(label ${ARG_LABEL})
  endif()
  # Test names are prefixed with the binary's so one suite can run in several binaries.
  string(REGEX REPLACE "_test$" "" prefix ${name})
  gtest_discover_tests(${name} TEST_PREFIX "${prefix}." PROPERTIES LABELS ${label}
                       DISCOVERY_TIMEOUT 30)
endfunction()

# seatflow_embed_migrations(TARGET SERVICE DIR)
# Adds to TARGET a generated source that embeds every .sql file of DIR as
# seatflow::<SERVICE>::migration_files(). Re-generated when a file changes or
# one is added or removed.
function(seatflow_embed_migrations target service dir)
  file(GLOB sql_files CONFIGURE_DEPENDS "${dir}/*.sql")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${service}_migrations.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DSERVICE=${service} -DDIR=${dir} -DOUT=${out}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    DEPENDS ${sql_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    COMMENT "Embedding ${service} migrations"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
