"""The dashboard's pages, one module each; every module here is collected by
aftercare.dashboard.app (see there for the one function a page module provides)."""
