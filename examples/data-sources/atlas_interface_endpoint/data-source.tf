# Reads one AWS PrivateLink interface endpoint of an Atlas project and outputs whether it is
# connected. In a real configuration `interface_endpoint_id` usually comes from
# `aws_vpc_endpoint.<name>.id`.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

data "atlas_interface_endpoint" "example" {
  project_id            = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id       = "6a1a2b3c4d5e6f7a8b9c0d1e"
  interface_endpoint_id = "vpce-08fb7e9319909ec7b"
}

output "connection_status" {
  value = data.atlas_interface_endpoint.example.connection_status
}

output "error_message" {
  value = data.atlas_interface_endpoint.example.error_message
}
