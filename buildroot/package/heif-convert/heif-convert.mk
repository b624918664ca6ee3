################################################################################
#
# heif-convert: libheif's heif-dec program, from libheif's own source and options
#
################################################################################

HEIF_CONVERT_VERSION = $(LIBHEIF_VERSION)
HEIF_CONVERT_SOURCE = libheif-$(LIBHEIF_VERSION).tar.gz
HEIF_CONVERT_SITE = $(LIBHEIF_SITE)
# The same tarball as libheif: one download, checked against libheif's hash.
HEIF_CONVERT_DL_SUBDIR = libheif
HEIF_CONVERT_LICENSE = MIT (examples), LGPL-3.0+ (libheif)
HEIF_CONVERT_LICENSE_FILES = COPYING
HEIF_CONVERT_DEPENDENCIES = $(LIBHEIF_DEPENDENCIES) libheif jpeg
# libheif's own configuration, with the programs on (the last -D wins).
HEIF_CONVERT_CONF_OPTS = $(LIBHEIF_CONF_OPTS) -DWITH_EXAMPLES=ON -DWITH_JPEG_DECODER=ON -DWITH_JPEG_ENCODER=ON

define HEIF_CONVERT_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(BR2_CMAKE) --build $(HEIF_CONVERT_BUILDDIR) --target heif-dec -j$(PARALLEL_JOBS)
endef

# Only the program: the library is libheif's package's (same version, same soname).
define HEIF_CONVERT_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(HEIF_CONVERT_BUILDDIR)/examples/heif-dec $(TARGET_DIR)/usr/bin/heif-convert
endef

$(eval $(cmake-package))
