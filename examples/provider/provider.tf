# Configures the provider with an Atlas programmatic API key. Every argument falls back to an
# environment variable, so `provider "atlas" {}` works when MONGODB_ATLAS_PUBLIC_API_KEY and
# MONGODB_ATLAS_PRIVATE_API_KEY are set.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "atlas_public_key" {
  description = "The public half of an Atlas programmatic API key; null falls back to the environment."
  type        = string
  default     = null
}

variable "atlas_private_key" {
  description = "The private half of the API key; null falls back to the environment."
  type        = string
  default     = null
  sensitive   = true
}

provider "atlas" {
  public_key  = var.atlas_public_key
  private_key = var.atlas_private_key

  # For Atlas for Government:
  # base_url = "https://cloud.mongodbgov.com"
}
