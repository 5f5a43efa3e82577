group last elevate
