# The daemon proper: the event loop, the dispatch table and the handlers
# depend on each other, so they form one library; tests link it whole.
add_library(elevate_daemon STATIC
  daemon.cpp
  server/listener.cpp server/server.cpp server/dispatch.cpp
  handlers/common.cpp handlers/info.cpp handlers/enroll.cpp handlers/auth.cpp handlers/grants.cpp handlers/pam.cpp
  handlers/decide.cpp handlers/explain.cpp handlers/factor.cpp handlers/push.cpp handlers/requests.cpp handlers/risk.cpp
  push/push_service.cpp)
target_link_libraries(elevate_daemon PUBLIC
  elevate_client elevate_approvals elevate_push elevate_notify elevate_risk elevate_grants elevate_sessions elevate_groups elevate_audit elevate_auth elevate_policy elevate_config elevate_store
  elevate_daemon_core PkgConfig::SYSTEMD)

add_executable(elevated main.cpp)
target_link_libraries(elevated PRIVATE elevate_daemon)
install(TARGETS elevated DESTINATION ${CMAKE_INSTALL_SBINDIR})
