# elevatectl: the command-line client. Included from cli/CMakeLists.txt.
# Everything but main.cpp goes into elevate_cli so unit tests can link it.
add_library(elevate_cli STATIC
  args.cpp
  factor.cpp
  grant.cpp
  output.cpp
  prompt.cpp
  qr.cpp
  record.cpp
  reply.cpp
  request.cpp
  request_text.cpp
  request_wait.cpp
  verb_activate.cpp
  verb_approve.cpp
  verb_cancel.cpp
  verb_deny.cpp
  verb_drop.cpp
  verb_enroll.cpp
  verb_list.cpp
  verb_ping.cpp
  verb_requests.cpp
  verb_revoke.cpp
  verb_risk.cpp
  verb_explain.cpp
  verb_status.cpp
  verb_unlock.cpp
  verb_wait.cpp)
target_include_directories(elevate_cli PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(elevate_cli
  PUBLIC elevate_client elevate_base nlohmann_json::nlohmann_json
  PRIVATE elevate_cli_import PkgConfig::QRENCODE)

add_executable(elevatectl main.cpp)
target_link_libraries(elevatectl PRIVATE
  elevate_cli elevate_client elevate_cli_import PkgConfig::QRENCODE nlohmann_json::nlohmann_json)

install(TARGETS elevatectl DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/elevatectl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
