"""The work side: workspaces, people, clients, projects, time and the documents built from it."""
