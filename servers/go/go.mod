module labctl.dev/servers/go

go 1.22
