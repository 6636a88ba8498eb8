"""The secretariat's annual cycle on top of the stages: releases (frozen results and reports), the diff of two
releases, and the package sent to each member."""
