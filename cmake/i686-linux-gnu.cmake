# Toolchain file for Debian's GCC i686 cross compiler (package g++-i686-linux-gnu).
# The kernel is freestanding: nothing from the target's libc is linked, only libgcc
# (for 64-bit division and friends).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR i686)

set(CMAKE_C_COMPILER   i686-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER i686-linux-gnu-g++)
set(CMAKE_ASM_COMPILER i686-linux-gnu-gcc)
set(CMAKE_OBJCOPY      i686-linux-gnu-objcopy CACHE FILEPATH "")
set(CMAKE_NM           i686-linux-gnu-nm CACHE FILEPATH "")

# Compiler checks would try to link a hosted program; a static library is enough.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
